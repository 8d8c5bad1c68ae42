using NeuralMag.AD;

namespace NeuralMag;

public sealed partial class State
{
    /// <summary>
    /// Domain machinery (as upstream): "domains" is a cell Function of integer ids (all 1 initially), "domain" =
    /// domains &gt; 0, "subdomain" = (domains == domain_id), "rho" = 1 inside the domain and eps outside, and in 3D the
    /// face densities rhoxy ("ccn"), rhoxz ("cnc"), rhoyz ("ncc"): the max of ρ of the two cells sharing a face.
    /// </summary>
    private void InitDomains()
    {
        this["domain"] = new NamedFunction(new[] { "domains" }, a => a[0].Gt(0.0));
        this["subdomain"] = new NamedFunction(new[] { "domains", "domain_id" }, a => a[0].Eq(a[1]));
        var one = Tensor(1.0);
        var eps = Tensor(Eps);
        this["rho"] = new CellFunction(this, tensor: new NamedFunction(new[] { "domain" }, a => NTensor.Where(a[0], one, eps)), name: "rho");
        this["domains"] = new CellFunction(this, name: "domains").Fill(1.0, expand: true);
        if (Mesh.Dim == 3)
        {
            this["rhoxy"] = new Function(this, "ccn", tensor: new NamedFunction(new[] { "rho" }, a => FaceDensity(a[0], 2)), name: "rhoxy");
            this["rhoxz"] = new Function(this, "cnc", tensor: new NamedFunction(new[] { "rho" }, a => FaceDensity(a[0], 1)), name: "rhoxz");
            this["rhoyz"] = new Function(this, "ncc", tensor: new NamedFunction(new[] { "rho" }, a => FaceDensity(a[0], 0)), name: "rhoyz");
        }
    }

    /// <summary>Face density along <paramref name="axis"/>: max(ρ padded after, ρ padded before) (n+1 faces).</summary>
    private static NTensor FaceDensity(NTensor rho, int axis)
    {
        var padShape = rho.Shape.ToArray();
        padShape[axis] = 1;
        var zero = NTensor.Zeros(padShape, rho.DType, rho.Device);
        return NTensor.Maximum(NTensor.Concat(axis, rho, zero), NTensor.Concat(axis, zero, rho));
    }

    /// <summary>Cell Function of domain ids.</summary>
    public Function Domains => GetFunction("domains");

    /// <summary>Assigns domain <paramref name="id"/> to cells where <paramref name="condition"/> (0/1 cell tensor) holds.
    /// The first call clears the default all-ones domain map.</summary>
    public void AddDomain(int id, NTensor condition)
    {
        var domains = Domains;
        var cur = domains.Tensor;
        if (cur.Eq(Tensor(1.0)).Min().Item() == 1.0) cur = NTensor.ZerosLike(cur);
        domains.Tensor = NTensor.Where(condition, Tensor((double)id), cur);
        _funcs.Clear();
    }
}
