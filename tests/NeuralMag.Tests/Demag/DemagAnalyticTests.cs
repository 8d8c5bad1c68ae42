using NeuralMag.AD;

namespace NeuralMag.Tests.Demag;

using State = NeuralMag.State;

/// <summary>Demagnetizing factors N = -<h>/Ms of uniformly magnetized bodies.</summary>
[TestClass]
public sealed class DemagAnalyticTests
{
    private static double[] DemagFactors(int[] n, double[] dx)
    {
        var factors = new double[3];
        for (int axis = 0; axis < 3; axis++)
        {
            var state = new State(new Mesh(n, dx), Device.Cpu, DType.Float64);
            state.Material["Ms"] = 8e5;
            var dir = new double[3];
            dir[axis] = 1;
            state["m"] = new VectorFunction(state).Fill(dir);
            new DemagField().Register(state, "demag");
            // Energy-based factor: E = mu0/2 N Ms^2 V for a uniform state.
            double e = state.Tensor("E_demag").Item();
            factors[axis] = 2 * e / (Constants.Mu0 * 8e5 * 8e5 * state.Mesh.Volume);
        }
        return factors;
    }

    [TestMethod]
    public void CubeHasFactorsOneThird()
    {
        var f = DemagFactors(new[] { 8, 8, 8 }, new[] { 1e-9, 1e-9, 1e-9 });
        foreach (var v in f) Assert.AreEqual(1.0 / 3.0, v, 1e-3, string.Join(", ", f));
        Assert.AreEqual(1.0, f.Sum(), 1e-3);
    }

    [TestMethod]
    public void ThinFilmHasOutOfPlaneFactorNearOne()
    {
        var f = DemagFactors(new[] { 40, 40, 1 }, new[] { 5e-9, 5e-9, 1e-9 });
        Assert.IsTrue(f[2] > 0.95, $"N_z = {f[2]}");
        Assert.IsTrue(f[0] < 0.03 && f[1] < 0.03, $"N_x = {f[0]}, N_y = {f[1]}");
        Assert.AreEqual(1.0, f.Sum(), 1e-3);
    }
}
