using System.Numerics;
using NeuralMag;
using NeuralMag.AD;
using NeuralMag.Testing;

namespace MyMagnetics.Tests;

/// <summary>How a user tests a new energy term with NeuralMag.Testing.</summary>
[TestClass]
public sealed class EasyPlaneAnisotropyTests
{
    /// <summary>A small film with a random unit magnetization, a non-uniform Ms and a uniform Kp.</summary>
    private static State NewState()
    {
        var state = new State(new Mesh(new[] { 4, 3, 2 }, new[] { 2e-9, 2e-9, 3e-9 }), Device.Cpu, DType.Float64);
        var rng = new Random(7);
        var raw = NTensor.FromArray(Enumerable.Range(0, 5 * 4 * 3 * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), new[] { 5, 4, 3, 3 });
        state["m"] = new VectorFunction(state, raw / raw.Norm(-1).Unsqueeze(-1));
        state.Material["Ms"] = new CellFunction(state, tensor: NTensor.FromArray(Enumerable.Range(0, 24).Select(c => 8e5 + 1e4 * c).ToArray(), new[] { 4, 3, 2 }));
        state.Material["Kp"] = 1e5;
        state.Material["A"] = 1.3e-11;
        new EasyPlaneAnisotropyField().Register(state);
        new ExchangeField().Register(state);
        return state;
    }

    [TestMethod]
    public void FieldIsTheEnergyGradient() =>
        NeuralMagAssert.FieldIsEnergyGradient(NewState(), "easyplane");

    [TestMethod]
    public void EnergyGradientsMatchCentralDifferences()
    {
        var state = NewState();
        // dE/dKp (Kp is one number here) and dE/dm through the tape, against Richardson-extrapolated central
        // differences. Each checked entry costs four energy evaluations; GradientCheckOptions.MaxEntries samples large
        // tensors (default 256 entries per tensor).
        NeuralMagAssert.GradientMatchesFiniteDifferences(state.Resolve("E_easyplane", new[] { "material__Kp", "m" }), state);
    }

    [TestMethod]
    public void MatchesTheClosedFormReferenceCase() =>
        NeuralMagAssert.TermMatchesReference(Path.Combine(AppContext.BaseDirectory, "reference", "uniform_easyplane"), new EasyPlaneAnisotropyField());

    [TestMethod]
    public void ObjectiveOverTemperatureMatchesTheComplexStep()
    {
        // An objective through Resolve: the Zeeman energy of a uniform m in a uniform field as a function of the cell
        // temperatures T, with Bloch's law Ms(T) = Ms0 (1 − (T/Tc)^(3/2)) for the saturation magnetization.
        const double ms0 = 8e5, tc = 800, mh = 0.8 * 2e4; // m · h for m = (0.6, 0, 0.8), h = (0, 0, 2e4) A/m
        var state = new State(new Mesh(new[] { 3, 2, 1 }, new[] { 2e-9, 2e-9, 3e-9 }), Device.Cpu, DType.Float64);
        state["m"] = new VectorFunction(state).Fill(new[] { 0.6, 0, 0.8 });
        state["T"] = new CellFunction(state, tensor: NTensor.FromArray(new[] { 250.0, 300, 350, 400, 450, 500 }, new[] { 3, 2, 1 }));
        state.Material["Ms"] = new CellFunction(state, tensor: (Func<NTensor, NTensor>)(T => ms0 * (1.0 - (T / tc).Pow(1.5))));
        new ExternalField(NTensor.FromArray(new[] { 0, 0, 2e4 })).Register(state);
        var energy = state.Resolve("E_external", new[] { "T" });

        // The same energy written over complex numbers, E = −mu0 (m·h) V Σ_c Ms(T_c), for the complex step.
        double v = 2e-9 * 2e-9 * 3e-9;
        Complex EnergyOfT(Complex[][] t) =>
            -Constants.Mu0 * mh * v * t[0].Aggregate(Complex.Zero, (s, T) => s + ms0 * (1 - Complex.Pow(T / tc, 1.5)));

        NeuralMagAssert.GradientMatchesComplexStep(energy, EnergyOfT, new[] { state.Tensor("T") });
        NeuralMagAssert.GradientMatchesFiniteDifferences(energy, state);
    }
}
