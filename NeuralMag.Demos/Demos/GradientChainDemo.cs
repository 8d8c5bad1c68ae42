using NeuralMag.AD;

namespace NeuralMag.Demos;

/// <summary>
/// The smallest end-to-end check of the tape: the gradient of a scalar built from a chain of tensor operations,
/// compared with a central finite difference.
/// </summary>
public sealed class GradientChainDemo : IDemo
{
    public string Name => "gradient-chain";
    public string Description => "gradient of a chain of tensor ops, checked against finite differences";

    public int Run(DemoOptions options)
    {
        var rng = new Random(7);
        int n = options.Quick ? 1000 : 100_000;
        var data = Enumerable.Range(0, 3 * n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var m = NTensor.FromArray(data, new[] { n, 3 });
        var axis = NTensor.FromArray(new[] { 0.0, 0.0, 1.0 });

        // f(m) = sum( |m x e_z|^2 * exp(-(m . e_z)^2) ) / n
        NTensor F(NTensor x) => (NTensor.Cross(x, axis).Square().Sum(-1) * (-NTensor.Dot(x, axis.Expand(x.GetShape())).Square()).Exp()).Sum() / n;

        var (value, grad) = Autodiff.ValueAndGrad(F)(m);
        Console.WriteLine($"f(m) = {value.Item():R}");
        double maxRel = 0;
        foreach (var k in new[] { 0, 1, 2, 3 * n / 2, 3 * n - 1 })
        {
            // f is a mean over n points, so |f| ~ 1 while each partial is ~1/n: the step must keep the round-off of the
            // difference (eps |f| / h) well below 1/n, while the truncation error stays ~h^2 / n.
            const double h = 1e-4;
            var plus = (double[])data.Clone();
            var minus = (double[])data.Clone();
            plus[k] += h;
            minus[k] -= h;
            double fd = (F(NTensor.FromArray(plus, new[] { n, 3 })).Item() - F(NTensor.FromArray(minus, new[] { n, 3 })).Item()) / (2 * h);
            double ad = grad.ToArray()[k];
            double rel = Math.Abs(ad - fd) / Math.Max(Math.Abs(fd), 1e-300);
            maxRel = Math.Max(maxRel, rel);
            Console.WriteLine($"  df/dm[{k}]: tape {ad:E10}  finite difference {fd:E10}  rel {rel:E2}");
        }
        bool ok = maxRel < 1e-5;
        Console.WriteLine(ok ? "PASS: tape gradient matches finite differences" : "FAIL: tape gradient differs from finite differences");
        return ok ? 0 : 1;
    }
}
