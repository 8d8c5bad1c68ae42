using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Bench;

/// <summary>
/// The benchmarks' muMAG standard problem 4, field 1: 100 x 25 x 1 cells of 5 x 5 x 3 nm, Ms = 8e5 A/m,
/// A = 1.3e-11 J/m, alpha = 0.02, exchange + demag + Zeeman (-24.6, 4.3, 0) mT, from the stored relaxed s-state.
/// </summary>
internal static class StandardProblem4
{
    public static State Field1(DType dtype)
    {
        var vti = ReferenceCase.FindFile(Path.Combine("oommf", "s_state_init.vti"))
            ?? throw new FileNotFoundException("oommf/s_state_init.vti not found in any reference-data root (data/reference above the working directory).");
        var state = new State(new Mesh(new[] { 100, 25, 1 }, new[] { 5e-9, 5e-9, 3e-9 }), Device.Cpu, dtype);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["alpha"] = 0.02;
        // The stored s-state's |m| is off 1 by up to 1.7e-5: normalized here (the solver would, with a notice).
        var stored = Vti.ReadTensor(vti, "m", dtype);
        state["m"] = new VectorFunction(state, stored / stored.Norm(-1).Unsqueeze(-1));
        new ExchangeField().Register(state, "exchange");
        new DemagField().Register(state, "demag");
        new ExternalField(new[] { -19576.05800030313, 3421.8312764757497, 0.0 }).Register(state, "external");
        new TotalField("exchange", "demag", "external").Register(state);
        return state;
    }
}
