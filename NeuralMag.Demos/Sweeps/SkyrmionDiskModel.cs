using System.Text.Json;
using NeuralMag.AD;
using NeuralMag.Cluster;
using NeuralMag.Sweeps;

namespace NeuralMag.Demos;

/// <summary>
/// A sweep model for skyrmion stability maps: the thin disk of the skyrmion-disk demo (radius n·dx/2, 0.6 nm thick,
/// Ms = 1/mu0, A = 16 pJ/m, perpendicular Ku = 510 kJ/m^3, demag) with interface DMI D (parameter "D", J/m^2) and a
/// perpendicular applied field B (parameter "B", T, along +z; h = B/mu0), relaxed by the BB minimizer from the
/// point's initial state: "skyrmion" (m = -z inside r &lt; seedRadius, +z outside) or "uniform" (+z). Outputs: the
/// skyrmion number Q = (1/4π) ∫ m · (∂x m × ∂y m) dA, m_z at the centre, the mean m_z, the energy E (J), the minimizer's
/// iterations, final max torque (A/m) and "converged" (1 when the torque reached the tolerance), and "skyrmion" = 1 when a reversed core survives (m_z(centre) &lt; -0.5 and
/// |Q| &gt; 0.5), else 0, and "collapsed" = 1 when the core has gone (m_z(centre) &gt; 0.5 and |Q| &lt; 0.25; only the edge
/// twist is left), else 0 (neither: another texture, e.g. a skyrmion of the opposite polarity).
/// </summary>
public sealed class SkyrmionDiskModel : ISweepModel
{
    /// <inheritdoc/>
    public string Name => "skyrmion-disk";

    /// <inheritdoc/>
    public string Description => "thin disk with interface DMI D (J/m^2) in a field B (T, +z), relaxed; outputs Q, mz_centre, mz_mean, E, skyrmion";

    private static readonly string[] Known = { "cells", "cellSize", "thickness", "A", "Ku", "seedRadius", "tol", "maxIter" };

    /// <inheritdoc/>
    public SweepPointFunction Create(JsonElement? settings)
    {
        double Setting(string name, double fallback, double min, double max)
        {
            if (settings is not { } s || !s.TryGetProperty(name, out var v)) return fallback;
            double x = v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw new ArgumentException($"skyrmion-disk: setting {name} must be a number, got {v}.", nameof(settings));
            return x >= min && x <= max ? x : throw new ArgumentException($"skyrmion-disk: setting {name} = {x} is outside [{min}, {max}].", nameof(settings));
        }
        if (settings is { } st)
            foreach (var p in st.EnumerateObject())
                if (!Known.Contains(p.Name)) throw new ArgumentException($"skyrmion-disk: unknown setting '{p.Name}' (known: {string.Join(", ", Known)}).", nameof(settings));
        int n = (int)Setting("cells", 30, 4, 400);
        double dx = Setting("cellSize", 2e-9, 1e-10, 1e-7), dz = Setting("thickness", 0.6e-9, 1e-11, 1e-7);
        double a = Setting("A", 1.6e-11, 0, 1e-9), ku = Setting("Ku", 510e3, 0, 1e8);
        double seed = Setting("seedRadius", 0.3 * n * dx / 2, 0, 1), tol = Setting("tol", 1e3, 1e-6, 1e6);
        int maxIter = (int)Setting("maxIter", 2000, 1, 1e7);
        return (point, ct) => Relax(point, n, dx, dz, a, ku, seed, tol, maxIter, ct);
    }

    private static IEnumerable<KeyValuePair<string, double>> Relax(SweepPoint point, int n, double dx, double dz, double a, double ku, double seedRadius,
        double tol, int maxIter, CancellationToken ct)
    {
        double d = point["D"], b = point.Get("B", 0);
        var start = point.InitialState ?? "skyrmion";
        if (start is not ("skyrmion" or "uniform"))
            throw new ArgumentException($"skyrmion-disk: initial state '{start}' is not known (skyrmion or uniform).");
        double radius = n * dx / 2;
        var state = new State(new Mesh(new[] { n, n }, new[] { dx, dx, dz }, new[] { -radius, -radius, 0 }));
        state.Material["Ms"] = 1 / Constants.Mu0;
        state.Material["A"] = a;
        state.Material["Di"] = d;
        state.Material["Di_axis"] = new[] { 0.0, 0, 1 };
        state.Material["Ku"] = ku;
        state.Material["Ku_axis"] = new[] { 0.0, 0, 1 };
        state.Material["alpha"] = 0.1;
        var xy = state.Coordinates();
        state.AddDomain(1, (xy[0].Square() + xy[1].Square()).Lt(radius * radius));
        int nn = n + 1;
        var m0 = new double[nn * nn * 3];
        for (int i = 0; i < nn; i++)
            for (int j = 0; j < nn; j++)
                m0[(i * nn + j) * 3 + 2] = start == "skyrmion" && Math.Pow(-radius + i * dx, 2) + Math.Pow(-radius + j * dx, 2) < seedRadius * seedRadius ? -1 : 1;
        state["m"] = new VectorFunction(state);
        state.M.Tensor = state.Tensor(m0, new[] { nn, nn, 3 });
        new ExchangeField().Register(state, "exchange");
        new DemagField().Register(state, "demag");
        new InterfaceDMIField().Register(state, "dmi");
        new UniaxialAnisotropyField().Register(state, "aniso");
        new ExternalField(new[] { 0.0, 0, b / Constants.Mu0 }).Register(state, "external");
        new TotalField("exchange", "demag", "dmi", "aniso", "external").Register(state);
        var min = new EnergyMinimizer(state, tol: tol, maxIter: maxIter);
        var info = min.MinimizeWithInfo(cancellationToken: ct);
        var m = state.M.Tensor.ToArray();
        var rho = state.Tensor("rho").ToArray();
        double q = SkyrmionDiskDemo.SkyrmionNumber(m, nn, dx, rho, n);
        double mzCentre = m[(n / 2 * nn + n / 2) * 3 + 2];
        double sum = 0;
        int count = 0;
        for (int i = 0; i < nn; i++)
            for (int j = 0; j < nn; j++)
                if (Math.Pow(-radius + i * dx, 2) + Math.Pow(-radius + j * dx, 2) <= radius * radius) { sum += m[(i * nn + j) * 3 + 2]; count++; }
        return new KeyValuePair<string, double>[]
        {
            new("Q", q), new("mz_centre", mzCentre), new("mz_mean", sum / count), new("E", state.Tensor("E").Item()),
            new("iterations", info.Iterations), new("max_torque", info.MaxTorque), new("converged", info.Converged ? 1 : 0),
            new("skyrmion", mzCentre < -0.5 && Math.Abs(q) > 0.5 ? 1 : 0),
            new("collapsed", mzCentre > 0.5 && Math.Abs(q) < 0.25 ? 1 : 0),
        };
    }
}
