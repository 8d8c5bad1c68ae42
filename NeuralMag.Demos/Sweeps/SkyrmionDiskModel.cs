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

    /// <summary>The model's settings, checked.</summary>
    private sealed record Settings(int N, double Dx, double Dz, double A, double Ku, double SeedRadius, double Tol, int MaxIter);

    private static Settings Parse(JsonElement? settings)
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
        return new Settings(n, dx, dz, a, ku, seed, tol, maxIter);
    }

    /// <inheritdoc/>
    public SweepPointFunction Create(JsonElement? settings)
    {
        var s = Parse(settings);
        return (point, ct) =>
        {
            var state = Disk(new[] { point }, s, batched: false);
            var info = new EnergyMinimizer(state, tol: s.Tol, maxIter: s.MaxIter).MinimizeWithInfo(cancellationToken: ct);
            return Outputs(state.M.Tensor.ToArray(), state.Tensor("rho").ToArray(), state.Tensor("E").Item(), info, s);
        };
    }

    /// <summary>
    /// The points of a group relaxed together: one batched state whose members carry their own D (material Di of
    /// shape [B, 1, 1]), field (external field [B, 1, 1, 3]) and initial state, minimized by
    /// <see cref="EnergyMinimizer.MinimizeMany"/>; each member's outputs are those its point alone would give.
    /// </summary>
    public SweepBatchFunction? CreateBatch(JsonElement? settings)
    {
        var s = Parse(settings);
        return (points, ct) =>
        {
            var state = Disk(points, s, batched: true);
            var infos = new EnergyMinimizer(state, tol: s.Tol, maxIter: s.MaxIter).MinimizeMany(cancellationToken: ct);
            var m = state.M.Tensor;
            var rho = state.Tensor("rho").ToArray();
            var e = state.Tensor("E").ToArray();
            return Enumerable.Range(0, points.Count)
                .Select(b => SweepPointResult.Ok(Outputs(m.Slice(0, b, b + 1).ToArray(), rho, e[b], infos[b], s)))
                .ToList();
        };
    }

    /// <summary>The disk of the given points: one system (<paramref name="batched"/> false, one point) or a batch of them.</summary>
    private static State Disk(IReadOnlyList<SweepPoint> points, Settings s, bool batched)
    {
        int n = s.N, nn = n + 1, members = points.Count;
        double dx = s.Dx, radius = n * dx / 2;
        foreach (var point in points)
            if ((point.InitialState ?? "skyrmion") is not ("skyrmion" or "uniform"))
                throw new ArgumentException($"skyrmion-disk: initial state '{point.InitialState}' is not known (skyrmion or uniform).");
        var state = new State(new Mesh(new[] { n, n }, new[] { dx, dx, s.Dz }, new[] { -radius, -radius, 0 }), batch: batched ? members : null);
        state.Material["Ms"] = 1 / Constants.Mu0;
        state.Material["A"] = s.A;
        var d = points.Select(p => p["D"]).ToArray();
        state.Material["Di"] = batched ? state.Tensor(d, new[] { members, 1, 1 }) : state.Scalar(d[0]);
        state.Material["Di_axis"] = new[] { 0.0, 0, 1 };
        state.Material["Ku"] = s.Ku;
        state.Material["Ku_axis"] = new[] { 0.0, 0, 1 };
        state.Material["alpha"] = 0.1;
        var xy = state.Coordinates();
        state.AddDomain(1, (xy[0].Square() + xy[1].Square()).Lt(radius * radius));
        var m0 = new double[members * nn * nn * 3];
        for (int b = 0; b < members; b++)
        {
            bool seeded = (points[b].InitialState ?? "skyrmion") == "skyrmion";
            for (int i = 0; i < nn; i++)
                for (int j = 0; j < nn; j++)
                    m0[((b * nn + i) * nn + j) * 3 + 2] = seeded && Math.Pow(-radius + i * dx, 2) + Math.Pow(-radius + j * dx, 2) < s.SeedRadius * s.SeedRadius ? -1 : 1;
        }
        state["m"] = new VectorFunction(state);
        state.M.Tensor = state.Tensor(m0, batched ? new[] { members, nn, nn, 3 } : new[] { nn, nn, 3 });
        var fields = points.SelectMany(p => new[] { 0.0, 0, p.Get("B", 0) / Constants.Mu0 }).ToArray();
        new ExchangeField().Register(state, "exchange");
        new DemagField().Register(state, "demag");
        new InterfaceDMIField().Register(state, "dmi");
        new UniaxialAnisotropyField().Register(state, "aniso");
        new ExternalField(batched ? state.Tensor(fields, new[] { members, 1, 1, 3 }) : state.Tensor(fields)).Register(state, "external");
        new TotalField("exchange", "demag", "dmi", "aniso", "external").Register(state);
        return state;
    }

    /// <summary>The outputs of one relaxed disk from its m (nodal values), rho, energy and the minimizer's result.</summary>
    private static IEnumerable<KeyValuePair<string, double>> Outputs(double[] m, double[] rho, double energy, MinimizerResult info, Settings s)
    {
        int n = s.N, nn = n + 1;
        double dx = s.Dx, radius = n * dx / 2;
        double q = SkyrmionDiskDemo.SkyrmionNumber(m, nn, dx, rho, n);
        double mzCentre = m[(n / 2 * nn + n / 2) * 3 + 2];
        double sum = 0;
        int count = 0;
        for (int i = 0; i < nn; i++)
            for (int j = 0; j < nn; j++)
                if (Math.Pow(-radius + i * dx, 2) + Math.Pow(-radius + j * dx, 2) <= radius * radius) { sum += m[(i * nn + j) * 3 + 2]; count++; }
        return new KeyValuePair<string, double>[]
        {
            new("Q", q), new("mz_centre", mzCentre), new("mz_mean", sum / count), new("E", energy),
            new("iterations", info.Iterations), new("max_torque", info.MaxTorque), new("converged", info.Converged ? 1 : 0),
            new("skyrmion", mzCentre < -0.5 && Math.Abs(q) > 0.5 ? 1 : 0),
            new("collapsed", mzCentre > 0.5 && Math.Abs(q) < 0.25 ? 1 : 0),
        };
    }
}
