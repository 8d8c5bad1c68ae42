using System.Globalization;
using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Tests.Solvers;

using State = NeuralMag.State;

/// <summary>muMAG standard problem 4 from the relaxed s-state of the reference data, and OOMMF's m_y(t) for the chosen field.</summary>
internal static class StandardProblem4Setup
{
    /// <summary>Upstream's applied fields in A/m: field 1 (-24.6, 4.3, 0) mT and field 2 (-35.5, -6.3, 0) mT over mu0.</summary>
    public static readonly double[][] Fields =
    {
        new[] { -19576.05800030313, 3421.8312764757497, 0.0 },
        new[] { -28250.00239881142, -5013.380707394703, 0.0 },
    };

    /// <summary>
    /// A coarse standard problem 4 (field 1) for solver comparisons: 25 x 6 x 1 cells of 20 x 20.83 x 3 nm from the
    /// uniform start m ∝ (1, 0.25, 0.1), with exchange, demag, Zeeman and their total h.
    /// </summary>
    public static State Coarse()
    {
        var state = new State(new Mesh(new[] { 25, 6, 1 }, new[] { 20e-9, 125e-9 / 6, 3e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["alpha"] = 0.02;
        double n = Math.Sqrt(1 + 0.25 * 0.25 + 0.1 * 0.1);
        state["m"] = new VectorFunction(state).Fill(new[] { 1 / n, 0.25 / n, 0.1 / n });
        new ExchangeField().Register(state, "exchange");
        new DemagField().Register(state, "demag");
        new ExternalField(Fields[0]).Register(state, "external");
        new TotalField("exchange", "demag", "external").Register(state);
        return state;
    }

    public static (State State, Func<double, double> Oommf) Create(int field)
    {
        var sState = ReferenceCase.FindFile(Path.Combine("oommf", "s_state_init.vti"));
        var curve = ReferenceCase.FindFile(Path.Combine("oommf", $"oommf_sp4_fieldswitch_{field}.csv"));
        Assert.IsNotNull(sState, "oommf/s_state_init.vti not found in any reference-data root (data/reference in the repository)");
        Assert.IsNotNull(curve, $"oommf/oommf_sp4_fieldswitch_{field}.csv not found in any reference-data root");
        var state = new State(new Mesh(new[] { 100, 25, 1 }, new[] { 5e-9, 5e-9, 3e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["alpha"] = 0.02;
        state["m"] = new VectorFunction(state, Vti.ReadTensor(sState, "m"));
        new ExchangeField().Register(state, "exchange");
        new DemagField().Register(state, "demag");
        new ExternalField(Fields[field - 1]).Register(state, "external");
        new TotalField("exchange", "demag", "external").Register(state);
        var oommf = File.ReadAllLines(curve).Skip(1)
            .Select(l => l.Split(',').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        double Oommf(double t)
        {
            int i = Array.FindIndex(oommf, r => r[0] >= t);
            if (i <= 0) return oommf[Math.Max(i, 0)][1];
            double w = (t - oommf[i - 1][0]) / (oommf[i][0] - oommf[i - 1][0]);
            return oommf[i - 1][1] * (1 - w) + oommf[i][1] * w;
        }
        return (state, Oommf);
    }
}
