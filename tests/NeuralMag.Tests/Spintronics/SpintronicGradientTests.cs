using NeuralMag.AD;

namespace NeuralMag.Tests.Spintronics;

using State = NeuralMag.State;

[TestClass]
public sealed class SpintronicGradientTests
{
    private static double Central(Func<double, double> f, double x, double h) => (f(x + h) - f(x - h)) / (2 * h);

    /// <summary>Wall position X = L (1 + ⟨m_x⟩)/2 with ⟨m_x⟩ the trapezoidal mean over the nodes (m_x = +1 left of the wall).</summary>
    private static NTensor WallPosition(NTensor m, double length)
    {
        int n = m.GetShape()[0];
        var mx = m.Slice(1, 0, 1).Reshape(-1);
        var mean = (mx.Sum() - (mx.Slice(0, 0, 1).Sum() + mx.Slice(0, n - 1, n).Sum()) * 0.5) / (n - 1);
        return (mean + 1.0) * (length / 2);
    }

    [TestMethod]
    public void WallPositionGradientWithRespectToTheCurrentMatchesFiniteDifferences()
    {
        // d X(t1) / d j0 for j = j0 x̂ through 250 RK4 steps on the tape, against central differences of the same
        // discrete solution (rel 1e-6: the O(h²) error of the difference quotient and round-off are far below).
        const int cells = 40;
        double j0 = SpintronicsSetup.CurrentFor(100), length = cells * 2e-9;
        var state = SpintronicsSetup.Strip(0.1, cells, x0: 35e-9);
        var ex = state.Tensor(new[] { 1.0, 0, 0 });
        state["j0"] = j0;
        state["j"] = (Func<NTensor, NTensor>)(j0 => ex * j0);
        state.Material["P"] = 1.0;
        state.Material["xi"] = 0.2;
        new ZhangLiTorque().Register(state);
        var llg = new LLGSolver(state, parameters: new[] { "j0" }, fixedStepMethod: FixedStepMethod.RK4, fixedStep: 2e-13);
        double X(double j) => WallPosition(llg.Solve(5e-11, parameterValues: new[] { state.Scalar(j) }), length).Item();
        double grad;
        using (var tape = new Tape())
        {
            var jw = tape.Watch(state.Scalar(j0));
            grad = tape.Gradient(WallPosition(llg.Solve(5e-11, parameterValues: new[] { jw }), length), new[] { jw })[0].Item();
        }
        double fd = Central(X, j0, 1e-4 * j0);
        Console.WriteLine($"dX/dj0 = {grad:E8} m/(A/m^2), finite difference {fd:E8}; (beta/alpha) t du/dj = {0.2 / 0.1 * 5e-11 * 100 / j0:E3}");
        Assert.IsTrue(grad > 0, "a larger current moves the wall further");
        Assert.AreEqual(fd, grad, 1e-6 * Math.Abs(fd));
    }

    /// <summary>
    /// A perpendicular macrospin (Ku = 1e5 J/m³ along z, α = 0.1) under a damping- and field-like SOT pulse
    /// j(t) = j0 exp(−((t − 0.15 ns)/w)²) with p = ŷ, j0 = 4e12 A/m², w = 0.1 ns; RK4 in steps of 2 ps with j0 and w as
    /// the solver's parameters.
    /// </summary>
    private static (NeuralMag.State State, LLGSolver Llg) SotPulse()
    {
        var state = SpintronicsSetup.Macrospin(new[] { 0.05, 0, 1 }, 0.1);
        state.Material["Ku"] = 1e5;
        state.Material["Ku_axis"] = new[] { 0.0, 0, 1 };
        state.Material["p_sot"] = new[] { 0.0, 1, 0 };
        state.Material["eta_damp"] = 0.3;
        state.Material["eta_field"] = 0.1;
        state.Material["d"] = 2e-9;
        new UniaxialAnisotropyField().Register(state, "uaniso");
        new TotalField("uaniso").Register(state);
        state["j0"] = 4e12;
        state["w"] = 0.1e-9;
        state["j_sot"] = (Func<NTensor, NTensor, NTensor, NTensor>)((t, j0, w) => j0 * (-((t - 0.15e-9) / w).Square()).Exp());
        new SpinOrbitTorque().Register(state);
        var llg = new LLGSolver(state, parameters: new[] { "j0", "w" }, fixedStepMethod: FixedStepMethod.RK4, fixedStep: 2e-12);
        return (state, llg);
    }

    [TestMethod]
    public void SpinOrbitPulseGradientsMatchFiniteDifferences()
    {
        // A perpendicular macrospin under a damping-like SOT pulse j(t) = j0 exp(−((t − t0)/w)²) with p = ŷ: the
        // gradient of the final m_z with respect to the amplitude j0 and the width w (RK4, 200 steps), against
        // central differences (rel 1e-6).
        var (state, llg) = SotPulse();
        double Mz(double j0, double w) => llg.Solve(0.4e-9, parameterValues: new[] { state.Scalar(j0), state.Scalar(w) })[0, 0, 0, 2].Item();
        NTensor[] g;
        using (var tape = new Tape())
        {
            var jw = tape.Watch(state.Scalar(4e12));
            var ww = tape.Watch(state.Scalar(0.1e-9));
            g = tape.Gradient(llg.Solve(0.4e-9, parameterValues: new[] { jw, ww })[0, 0, 0, 2], new[] { jw, ww });
        }
        double fdJ = Central(j => Mz(j, 0.1e-9), 4e12, 4e7), fdW = Central(w => Mz(4e12, w), 0.1e-9, 1e-15);
        Console.WriteLine($"m_z = {Mz(4e12, 0.1e-9):F6}; dm_z/dj0 = {g[0].Item():E8} (fd {fdJ:E8}), dm_z/dw = {g[1].Item():E8} (fd {fdW:E8})");
        Assert.AreEqual(fdJ, g[0].Item(), 1e-6 * Math.Abs(fdJ));
        Assert.AreEqual(fdW, g[1].Item(), 1e-6 * Math.Abs(fdW));
    }

    [TestMethod]
    public void SwitchingTimeGradientOfAnSotPulseMatchesFiniteDifferences()
    {
        // The switching time t_s, where m_z first falls to 1/2 under the SOT pulse, is an implicit function of the pulse
        // parameters p: m_z(t_s(p), p) = 1/2 gives dt_s/dp = −(∂m_z/∂p)/(∂m_z/∂t) at t_s, with ∂m_z/∂p from the tape and
        // ∂m_z/∂t by a central difference of the discrete solution in its end time. Against central differences of t_s
        // itself, each t_s located to round-off by the Illinois method (rel 1e-5: the O(h²) of the difference quotient).
        var (state, llg) = SotPulse();
        NTensor Mz(double t, NTensor j0, NTensor w) => llg.Solve(t, parameterValues: new[] { j0, w })[0, 0, 0, 2];
        double F(double t, double j0, double w) => Mz(t, state.Scalar(j0), state.Scalar(w)).Item() - 0.5;
        double Crossing(double j0, double w)
        {
            var times = Enumerable.Range(1, 40).Select(i => i * 1e-11).ToArray();
            var mz = llg.Solve(times, parameterValues: new[] { state.Scalar(j0), state.Scalar(w) }).Select(m => m[0, 0, 0, 2].Item() - 0.5).ToArray();
            int k = Array.FindIndex(mz, v => v <= 0);
            Assert.IsTrue(k > 0, "m_z falls below 1/2 during the pulse");
            double a = times[k - 1], b = times[k], fa = mz[k - 1], fb = mz[k];
            for (int it = 0; it < 100 && Math.Abs(b - a) > 1e-25; it++)
            {
                double c = (a * fb - b * fa) / (fb - fa), fc = F(c, j0, w);
                if (fc == 0) return c;
                if (fc * fb < 0) { a = b; fa = fb; }
                else fa /= 2;
                b = c; fb = fc;
            }
            return b;
        }
        double ts = Crossing(4e12, 0.1e-9);
        NTensor[] g;
        using (var tape = new Tape())
        {
            var jw = tape.Watch(state.Scalar(4e12));
            var ww = tape.Watch(state.Scalar(0.1e-9));
            g = tape.Gradient(Mz(ts, jw, ww), new[] { jw, ww });
        }
        double dMzDt = (F(ts + 1e-14, 4e12, 0.1e-9) - F(ts - 1e-14, 4e12, 0.1e-9)) / 2e-14;
        double dtsDj = -g[0].Item() / dMzDt, dtsDw = -g[1].Item() / dMzDt;
        double fdJ = Central(j => Crossing(j, 0.1e-9), 4e12, 4e8), fdW = Central(w => Crossing(4e12, w), 0.1e-9, 1e-14);
        Console.WriteLine($"t_s = {ts * 1e9:F6} ns; dt_s/dj0 = {dtsDj:E6} (fd {fdJ:E6}), dt_s/dw = {dtsDw:E6} (fd {fdW:E6})");
        Assert.IsTrue(dtsDj < 0, "a stronger pulse switches earlier");
        Assert.AreEqual(fdJ, dtsDj, 1e-5 * Math.Abs(fdJ));
        Assert.AreEqual(fdW, dtsDw, 1e-5 * Math.Abs(fdW));
    }

    [TestMethod]
    public void ThermalRunGradientWithRespectToTemperatureIsPathwise()
    {
        // A seeded stochastic run is a smooth function of T (the noise path is fixed, its amplitude ∝ sqrt(T)):
        // d⟨m_z⟩(t1)/dT by backpropagation through 100 stochastic Heun steps against central differences (rel 1e-6).
        var state = new State(new Mesh(new[] { 50 }, new[] { 5e-9, 5e-9, 5e-9 }, pbc: new Pbc[] { true }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = SpintronicsSetup.Ms;
        state.Material["alpha"] = 0.5;
        state["T"] = 300.0;
        state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0, 1 });
        new ExternalField(new[] { 0, 0, 2e5 }).Register(state, "");
        new ThermalField().Register(state);
        var solver = new StochasticLLGSolver(state, 1e-13, seed: 3, parameters: new[] { "T" });
        double Mz(double temperature) => solver.Solve(1e-11, parameterValues: new[] { state.Scalar(temperature) }).Slice(1, 2, 3).Mean().Item();
        double grad;
        using (var tape = new Tape())
        {
            var tw = tape.Watch(state.Scalar(300.0));
            grad = tape.Gradient(solver.Solve(1e-11, parameterValues: new[] { tw }).Slice(1, 2, 3).Mean(), new[] { tw })[0].Item();
        }
        double fd = Central(Mz, 300, 0.01);
        Console.WriteLine($"d<m_z>/dT = {grad:E8} 1/K, finite difference {fd:E8}");
        Assert.IsTrue(grad < 0, "a hotter ensemble is less ordered");
        Assert.AreEqual(fd, grad, 1e-6 * Math.Abs(fd));
    }
}
