using NeuralMag.AD;

namespace NeuralMag.Tests.AD;

[TestClass]
public sealed class TapeSmokeTests
{
    [TestMethod]
    public void GradientOfCrossIndexConcatAndMax()
    {
        var m = NTensor.FromArray(new double[] { 1, 0, 0, 0, 1, 0 }, new[] { 2, 3 });
        var ez = NTensor.FromArray(new[] { 0.0, 0.0, 1.0 });
        var g = Autodiff.Grad(t => NTensor.Cross(t, ez).Square().Sum() + t[1, 1] * 3 + NTensor.Concat(0, t, t).Max())(m);
        // d|t x e_z|^2 = 2 (t - (t.e_z) e_z); +3 at [1,1]; the max 1 is tied at 4 places, two per source element.
        CollectionAssert.AreEqual(new[] { 2.5, 0, 0, 0, 5.5, 0 }, g.ToArray());
    }
}
