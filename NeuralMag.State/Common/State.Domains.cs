using NeuralMag.AD;

namespace NeuralMag;

public sealed partial class State
{
    /// <summary>
    /// Domain attributes beyond domains/domain/rho (upstream state.py): "subdomain" = (domains == domain_id), "dx" the
    /// cell size tensor [m], and in 3D the face densities rhoxy ("ccn"), rhoxz ("cnc"), rhoyz ("ncc"): on each face
    /// normal to z, y, x the max of ρ of the two cells sharing it (0 beyond the mesh), used by interface terms.
    /// </summary>
    private void InitDomainExtras()
    {
        this["subdomain"] = (Func<NTensor, NTensor, NTensor>)((domains, domain_id) => domains.Eq(domain_id));
        this["dx"] = Tensor(Mesh.Dx);
        if (Mesh.Dim == 3)
        {
            this["rhoxy"] = new Function(this, "ccn", tensor: (Func<NTensor, NTensor>)(rho => FaceDensity(rho, 2)), name: "rhoxy");
            this["rhoxz"] = new Function(this, "cnc", tensor: (Func<NTensor, NTensor>)(rho => FaceDensity(rho, 1)), name: "rhoxz");
            this["rhoyz"] = new Function(this, "ncc", tensor: (Func<NTensor, NTensor>)(rho => FaceDensity(rho, 0)), name: "rhoyz");
        }
    }

    /// <summary>Face density along mesh <paramref name="axis"/>: max(ρ padded after, ρ padded before), n+1 faces (per member of a batched ρ).</summary>
    private static NTensor FaceDensity(NTensor rho, int axis)
    {
        axis += rho.Rank - 3; // a leading batch axis shifts the mesh axes
        var padShape = rho.GetShape();
        padShape[axis] = 1;
        var zero = NTensor.Zeros(padShape, rho.DType, rho.Device);
        return NTensor.Maximum(NTensor.Concat(axis, rho, zero), NTensor.Concat(axis, zero, rho));
    }

    /// <summary>Tensor of a nested (jagged) or rectangular numeric array, in the state's dtype/device.</summary>
    public NTensor Tensor(Array values)
    {
        if (values.GetType().GetElementType() is { IsArray: true })
        {
            var parts = values.Cast<Array>().Select(Tensor).ToArray();
            if (parts.Length == 0) throw new ArgumentException("Cannot convert an empty nested array to a tensor.");
            foreach (var p in parts)
                if (!Shapes.Equal(p.GetShape(), parts[0].GetShape()))
                    throw new ArgumentException($"Nested array is ragged: rows of shape {Shapes.Format(parts[0].GetShape())} and {Shapes.Format(p.GetShape())}.");
            return NTensor.Stack(0, parts);
        }
        return NTensor.From(values, DType, Device);
    }
}
