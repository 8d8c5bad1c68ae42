using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Bench;

/// <summary>
/// The benchmarks' muMAG standard problem 4, field 1: 100 x 25 x 1 cells of 5 x 5 x 3 nm, Ms = 8e5 A/m,
/// A = 1.3e-11 J/m, alpha = 0.02, exchange + demag + Zeeman (-24.6, 4.3, 0) mT, from the stored relaxed s-state.
/// </summary>
internal static class StandardProblem4
{
    /// <summary>Field 1, (-24.6, 4.3, 0) mT, in A/m.</summary>
    public static readonly double[] H1 = { -19576.05800030313, 3421.8312764757497, 0.0 };

    public static State Field1(DType dtype) => Field1(dtype, Device.Cpu);

    /// <summary>Field 1 on <paramref name="device"/>.</summary>
    public static State Field1(DType dtype, Device device)
    {
        var vti = ReferenceCase.FindFile(Path.Combine("oommf", "s_state_init.vti"))
            ?? throw new FileNotFoundException("oommf/s_state_init.vti not found in any reference-data root (data/reference above the working directory).");
        // The stored s-state's |m| is off 1 by up to 1.7e-5: normalized here (the solver would, with a notice).
        var state = Film(new[] { 100, 25, 1 }, new[] { 5e-9, 5e-9, 3e-9 }, dtype, H1, s =>
        {
            var stored = Vti.ReadTensor(vti, "m", dtype).To(device);
            return new VectorFunction(s, stored / stored.Norm(-1).Unsqueeze(-1));
        }, device);
        state.Material["alpha"] = 0.02;
        return state;
    }

    /// <summary>The sp4 film on <paramref name="cells"/> of <paramref name="dx"/>: Ms, A, exchange + demag + Zeeman
    /// (<paramref name="field"/> in A/m), on <paramref name="device"/> (default: the CPU), from the magnetization
    /// <paramref name="m"/> makes of the new state; alpha is the caller's.</summary>
    public static State Film(int[] cells, double[] dx, DType dtype, double[] field, Func<State, VectorFunction> m, Device? device = null)
    {
        var state = new State(new Mesh(cells, dx), device ?? Device.Cpu, dtype);
        state["m"] = m(state);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        new ExchangeField().Register(state, "exchange");
        new DemagField().Register(state, "demag");
        new ExternalField(field).Register(state, "external");
        new TotalField("exchange", "demag", "external").Register(state);
        return state;
    }
}
