using NeuralMag.AD;

namespace NeuralMag.Tests.Solvers;

[TestClass]
public sealed class IntegratorGradientTests
{
    // Damped rotation y' = A(k) y with A = [[-k, w], [-w, -k]]: gradients of a loss of y(T) w.r.t. y0 and k by
    // backpropagating through the accepted Dormand–Prince steps, compared with central finite differences.
    private static NTensor Solve(NTensor y0, NTensor k, double rtol)
    {
        var dp = new DormandPrince((t, y) =>
        {
            var y0c = y[0..1]; var y1c = y[1..2];
            var dy0 = -k * y0c + y1c * 3.0;
            var dy1 = -k * y1c - y0c * 3.0;
            return NTensor.Concat(0, dy0, dy1);
        }, rtol, rtol);
        return dp.Integrate(y0, 0, 2);
    }

    private static NTensor Loss(NTensor y) => (y * NTensor.FromArray(new[] { 1.0, -2.0 })).Sum();

    [TestMethod]
    public void BackpropThroughStepsMatchesFiniteDifferences()
    {
        var y0 = NTensor.FromArray(new[] { 1.0, 0.5 });
        var k = NTensor.FromArray(new[] { 0.3 });
        NTensor[] g;
        using (var tape = new Tape())
        {
            var y0w = tape.Watch(y0); var kw = tape.Watch(k);
            g = tape.Gradient(Loss(Solve(y0w, kw, 1e-10)), new[] { y0w, kw });
        }
        double Fd(Func<double, double> f, double x, double h) => (f(x + h) - f(x - h)) / (2 * h);
        double dk = Fd(kk => Loss(Solve(y0, NTensor.FromArray(new[] { kk }), 1e-10)).Item(), 0.3, 1e-5);
        double dy00 = Fd(a => Loss(Solve(NTensor.FromArray(new[] { a, 0.5 }), k, 1e-10)).Item(), 1.0, 1e-5);
        // Exact: dL/dk = -T L(y(T)) for this A (k only scales the decay).
        double exact = -2 * Loss(Solve(y0, k, 1e-12)).Item();
        Assert.AreEqual(exact, g[1].Item(), 1e-7);
        Assert.AreEqual(dk, g[1].Item(), 1e-6);
        Assert.AreEqual(dy00, g[0].ToArray()[0], 1e-6);
    }
}
