using NeuralMag.AD;

namespace NeuralMag.Tests.Spintronics;

using State = NeuralMag.State;

/// <summary>Small setups shared by the spin-torque and thermal tests.</summary>
internal static class SpintronicsSetup
{
    public const double Ms = 8e5, A = 1.3e-11, Ku = 1e5;

    /// <summary>Wall width sqrt(A/Ku) of the 1D strip.</summary>
    public static double WallWidth => Math.Sqrt(A / Ku);

    /// <summary>
    /// A 1D strip along x (cells of 2 nm), easy axis x (Ku), a hard axis z through the local field h = −Ms m_z ẑ
    /// (the thin-film shape anisotropy), and a wall m = (cos θ, sin θ, 0), θ = 2 atan exp((x − x0)/Δ) at x0.
    /// </summary>
    public static State Strip(double alpha, int cells = 125, double x0 = 70e-9, Device? device = null)
    {
        var state = new State(new Mesh(new[] { cells }, new[] { 2e-9, 5e-9, 5e-9 }), device ?? Device.Cpu, DType.Float64);
        state.Material["Ms"] = Ms;
        state.Material["A"] = A;
        state.Material["Ku"] = Ku;
        state.Material["Ku_axis"] = new[] { 1.0, 0, 0 };
        state.Material["alpha"] = alpha;
        int nodes = cells + 1;
        var m = new double[nodes * 3];
        for (int i = 0; i < nodes; i++)
        {
            double theta = 2 * Math.Atan(Math.Exp((i * 2e-9 - x0) / WallWidth));
            m[3 * i] = Math.Cos(theta);
            m[3 * i + 1] = Math.Sin(theta);
        }
        state["m"] = new VectorFunction(state, state.Tensor(m, new[] { nodes, 3 }));
        new ExchangeField().Register(state, "exchange");
        new UniaxialAnisotropyField().Register(state, "uaniso");
        var ez = state.Tensor(new[] { 0.0, 0, 1 });
        new ExternalField((Func<NTensor, NTensor>)(m => m.Slice(1, 2, 3) * ez * -Ms)).Register(state, "hard");
        new TotalField("exchange", "uaniso", "hard").Register(state);
        return state;
    }

    /// <summary>The x where m_x crosses 0 (linear interpolation between nodes of spacing dx).</summary>
    public static double WallPosition(NTensor m, double dx)
    {
        var v = m.ToArray();
        int n = v.Length / 3;
        for (int i = 0; i + 1 < n; i++)
        {
            double a = v[3 * i], b = v[3 * (i + 1)];
            if (a > 0 && b <= 0) return (i + a / (a - b)) * dx;
        }
        throw new InvalidOperationException("No wall (m_x sign change) in the strip.");
    }

    /// <summary>j in A/m² whose drift velocity is u (P = 1): j = 2 e Ms u / (g mu_B).</summary>
    public static double CurrentFor(double u) => u * 2 * Constants.ElementaryCharge * Ms / (ZhangLiTorque.GFactor * Constants.BohrMagneton);

    /// <summary>One macrospin: a 1-cell 3D mesh with uniform m (its 8 nodes move together).</summary>
    public static State Macrospin(double[] m0, double alpha)
    {
        var state = new State(new Mesh(new[] { 1, 1, 1 }, new[] { 5e-9, 5e-9, 2e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = Ms;
        state.Material["alpha"] = alpha;
        var n = Math.Sqrt(m0.Sum(x => x * x));
        state["m"] = new VectorFunction(state).Fill(m0.Select(x => x / n).ToArray());
        return state;
    }
}
