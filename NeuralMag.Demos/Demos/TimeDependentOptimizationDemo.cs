using System.Diagnostics;
using NeuralMag.AD;

namespace NeuralMag.Demos;

/// <summary>
/// Optimal control of a switching particle (upstream's time-dependent-optimization demo, torch version): a
/// 10 nm cube (Ms = 0.8 MA/m, A = 13 pJ/m, Ku = 0.1 MJ/m^3 along z, damping 0.1) starts along z; an applied field of
/// magnitude H_K/2 points along the polar/azimuthal angles (θ, φ). Adam (learning rate 0.05) tunes (θ, φ) so that
/// m(T), T = 50 ps, comes close to m_target = (1, 0, 1)/sqrt 2 in the L1 loss mean |m(T) - m_target|. The gradient
/// flows back through the adaptive Dormand–Prince LLG solve (<see cref="LLGSolver.SolveCheckpointed"/>, the angles
/// being an explicit solver parameter); it is checked once against central finite differences. The demo checks
/// that the loss falls well below its starting value.
/// </summary>
public sealed class TimeDependentOptimizationDemo : IDemo
{
    public string Name => "time-dependent-optimization";
    public string Description => "Adam on the direction of a field, gradients through the LLG solve, to steer m(T)";

    public int Run(DemoOptions options)
    {
        var outDir = options.OutputFor(Name);
        var state = new State(new Mesh(new[] { 2, 2, 2 }, new[] { 5e-9, 5e-9, 5e-9 }));
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["Ku"] = 1e5;
        state.Material["Ku_axis"] = new[] { 0.0, 0, 1 };
        state.Material["alpha"] = 0.1;
        state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0, 1 });
        double hk = 2 * 1e5 / (Constants.Mu0 * 8e5);
        // angles = (θ, φ): polar and azimuthal angle of the field; start along y.
        state["angles"] = new[] { Math.PI / 2, Math.PI / 2 };
        NTensor Field(NTensor angles)
        {
            NTensor theta = angles[0], phi = angles[1];
            return NTensor.Stack(0, theta.Sin() * phi.Cos(), theta.Sin() * phi.Sin(), theta.Cos()) * (hk / 2);
        }
        new ExchangeField().Register(state, "exchange");
        new UniaxialAnisotropyField().Register(state, "aniso");
        new ExternalField((Func<NTensor, NTensor>)Field).Register(state, "external");
        new TotalField("exchange", "aniso", "external").Register(state);
        var llg = new LLGSolver(state, parameters: new[] { "angles" });
        var target = new VectorFunction(state).Fill(new[] { Math.Sqrt(0.5), 0, Math.Sqrt(0.5) }).Tensor;
        const double tEnd = 0.05e-9;
        const int segments = 5;
        NTensor LossOf(LLGSolver solver, NTensor angles) => (solver.SolveCheckpointed(tEnd, null, [angles], segments) - target).Abs().Mean();
        NTensor Loss(NTensor angles) => LossOf(llg, angles);

        // The tape gradient once against central differences, both with tight tolerances: with the default ones
        // (1e-5) the adaptive step sequence changes with the angles and differences of size h = 1e-4 are noise.
        var a0 = state.Tensor("angles");
        var tight = new LLGSolver(state, parameters: new[] { "angles" }, rtol: 1e-10, atol: 1e-10);
        var gTape = Autodiff.Grad(a => LossOf(tight, a))(a0).ToArray();
        double gradErr = 0;
        for (int i = 0; i < 2; i++)
        {
            const double h = 1e-4;
            var plus = a0.ToArray(); plus[i] += h;
            var minus = a0.ToArray(); minus[i] -= h;
            double fd = (LossOf(tight, state.Tensor(plus)).Item() - LossOf(tight, state.Tensor(minus)).Item()) / (2 * h);
            gradErr = Math.Max(gradErr, Math.Abs(fd - gTape[i]) / Math.Max(Math.Abs(fd), 1e-3));
            Console.WriteLine($"  dL/d{(i == 0 ? "theta" : "phi")} at the start: tape {gTape[i]:E6}, central difference {fd:E6}");
        }

        int iterations = options.Quick ? 25 : 100;
        var adam = new Adam(2, learningRate: 0.05);
        var angles = a0.ToArray();
        var rows = new List<double[]>();
        var sw = Stopwatch.StartNew();
        for (int step = 0; step < iterations; step++)
        {
            var (loss, grad) = Autodiff.ValueAndGrad(Loss)(state.Tensor(angles));
            rows.Add(new[] { step, angles[0], angles[1], loss.Item() });
            if (step % 5 == 0 || step == iterations - 1)
                Console.WriteLine($"  step {step,3}: theta = {angles[0]:F4}, phi = {angles[1]:F4}, loss = {loss.Item():F5}  [{sw.Elapsed.TotalSeconds:F1} s]");
            adam.Step(angles, grad.ToArray());
        }
        double final = Loss(state.Tensor(angles)).Item();
        rows.Add(new[] { iterations, angles[0], angles[1], final });
        var mEnd = llg.SolveCheckpointed(tEnd, null, [state.Tensor(angles)], segments).Mean(0).Mean(0).Mean(0).ToArray();
        Console.WriteLine($"after {iterations} Adam steps: theta = {angles[0]:F4}, phi = {angles[1]:F4}, loss {rows[0][3]:F5} -> {final:F5}; " +
                          $"<m(T)> = ({mEnd[0]:F4}, {mEnd[1]:F4}, {mEnd[2]:F4}), target (0.7071, 0, 0.7071)  [{sw.Elapsed.TotalSeconds:F1} s, {llg.Evaluations} field evaluations]");

        DemoOutput.WriteCsv(Path.Combine(outDir, "optimization.csv"), "step,theta,phi,loss", rows);
        var steps = rows.Select(r => r[0]).ToArray();
        DemoOutput.Plot(Path.Combine(outDir, "loss.png"), "Time-dependent optimization: L1 loss of m(50 ps)", "Adam step", "loss",
            new DemoOutput.Curve("loss", steps, rows.Select(r => r[3]).ToArray()));
        DemoOutput.Plot(Path.Combine(outDir, "angles.png"), "Field direction during the optimization", "Adam step", "angle (rad)",
            new DemoOutput.Curve("theta", steps, rows.Select(r => r[1]).ToArray()), new DemoOutput.Curve("phi", steps, rows.Select(r => r[2]).ToArray()));
        Console.WriteLine($"wrote {outDir}/optimization.csv, loss.png, angles.png");

        bool gradOk = gradErr < 1e-6;
        bool lossOk = final < 0.5 * rows[0][3] && rows.All(r => r.All(double.IsFinite));
        Console.WriteLine($"gradient vs finite differences: max relative error {gradErr:E1} (tolerance 1e-6): {(gradOk ? "PASS" : "FAIL")}; " +
                          $"loss reduced to {final / rows[0][3]:P1} of its start (needs < 50%): {(lossOk ? "PASS" : "FAIL")}");
        return gradOk && lossOk ? 0 : 1;
    }

    /// <summary>The Adam optimizer (Kingma and Ba) with torch's defaults: beta1 = 0.9, beta2 = 0.999, eps = 1e-8.</summary>
    internal sealed class Adam(int size, double learningRate, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        private readonly double[] _m = new double[size], _v = new double[size];
        private int _t;

        /// <summary>Updates <paramref name="x"/> in place from the gradient <paramref name="g"/>.</summary>
        public void Step(double[] x, double[] g)
        {
            _t++;
            for (int i = 0; i < x.Length; i++)
            {
                _m[i] = beta1 * _m[i] + (1 - beta1) * g[i];
                _v[i] = beta2 * _v[i] + (1 - beta2) * g[i] * g[i];
                double mHat = _m[i] / (1 - Math.Pow(beta1, _t)), vHat = _v[i] / (1 - Math.Pow(beta2, _t));
                x[i] -= learningRate * mHat / (Math.Sqrt(vHat) + eps);
            }
        }
    }
}
