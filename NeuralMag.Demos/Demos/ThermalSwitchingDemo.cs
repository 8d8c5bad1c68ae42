using NeuralMag.AD;

namespace NeuralMag.Demos;

/// <summary>
/// Thermally activated switching of uniaxial macrospins (Néel–Brown relaxation; Brown, Phys. Rev. 130, 1677 (1963)):
/// an ensemble of independent spins (a periodic chain of 5 nm cells without exchange, each node one cell's moment,
/// the anisotropy as its lumped field H_K m_z ẑ), Ms = 800 kA/m, α = 0.5, T = 300 K, barrier σ = Ku V/(k_B T) = 3,
/// all started at m_z = +1 and integrated by the stochastic Heun scheme (Δt = τ_D/100). The first time each spin
/// reaches m_z = −1/2 (past the barrier at m_z = 0, inside the other well, where a path sampled every other step
/// does not slip back unseen as it does at the barrier top) is recorded; for this axially symmetric problem the mean
/// first-passage time is exact from the 1D Fokker–Planck equation in x = m_z (Brown 1963; Gardiner, Handbook of
/// Stochastic Methods, 5.2.7): T = 2 τ_D ∫_{−1/2}^1 dy e^{−σy²}/(1 − y²) ∫_y^1 e^{σz²} dz, τ_D = μ0 Ms V (1 + α²)/(2 α γ k_B T).
/// The demo writes the switching times and their histogram and checks the mean against T within 5 standard errors
/// plus the detection interval.
/// </summary>
public sealed class ThermalSwitchingDemo : IDemo
{
    public string Name => "thermal-switching";
    public string Description => "thermally activated switching statistics of macrospins against the Fokker-Planck mean first-passage time";

    public int Run(DemoOptions options)
    {
        var outDir = options.OutputFor(Name);
        const double ms = 8e5, alpha = 0.5, temperature = 300, dx = 5e-9, sigma = 3, Threshold = -0.5;
        int spins = options.Quick ? 400 : 2000;
        double volume = dx * dx * dx, kT = Constants.Boltzmann * temperature;
        double hk = 2 * sigma * kT / volume / (Constants.Mu0 * ms);
        double tauD = Constants.Mu0 * ms * volume * (1 + alpha * alpha) / (2 * alpha * Constants.Gamma * kT);
        double mfpt = 2 * tauD * Simpson(y => Math.Exp(-sigma * y * y) / (1 - y * y) * Simpson(z => Math.Exp(sigma * z * z), y, 1), Threshold, 1 - 1e-9);
        var state = new State(new Mesh(new[] { spins }, new[] { dx, dx, dx }, pbc: new Pbc[] { true }));
        state.Material["Ms"] = ms;
        state.Material["alpha"] = alpha;
        state["T"] = temperature;
        state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0, 1 });
        var ez = state.Tensor(new[] { 0.0, 0, 1 });
        new ExternalField((NTensor m) => m.Slice(1, 2, 3) * ez * hk).Register(state, "");
        new ThermalField().Register(state);
        double dt = tauD / 100, check = 2 * dt;
        var solver = new StochasticLLGSolver(state, dt, seed: 2026);
        var switched = new double[spins];
        Array.Fill(switched, double.NaN);
        int remaining = spins;
        double tMax = 12 * mfpt;
        while (remaining > 0 && state.T < tMax)
        {
            solver.Step(check);
            var m = state.M.Tensor.ToArray();
            for (int i = 0; i < spins; i++)
                if (double.IsNaN(switched[i]) && m[3 * i + 2] < Threshold) { switched[i] = state.T; remaining--; }
        }
        var times = switched.Where(double.IsFinite).ToArray();
        double mean = times.Average(), sd = Math.Sqrt(times.Sum(t => (t - mean) * (t - mean)) / (times.Length - 1));
        double se = sd / Math.Sqrt(times.Length);
        // Detection every `check` delays each crossing by check/2 on average.
        double measured = mean - check / 2;
        DemoOutput.WriteCsv(Path.Combine(outDir, "switching_times.csv"), "spin,t_switch", switched.Select((t, i) => new[] { i, t }));
        // Histogram (20 bins up to 4 T) with the exponential density of the same mean, for comparison.
        int bins = 20;
        double width = 4 * mfpt / bins;
        var centers = Enumerable.Range(0, bins).Select(b => (b + 0.5) * width).ToArray();
        var density = centers.Select((c, b) => times.Count(t => t >= b * width && t < (b + 1) * width) / (times.Length * width)).ToArray();
        var expo = centers.Select(c => Math.Exp(-c / mfpt) / mfpt).ToArray();
        DemoOutput.Plot(Path.Combine(outDir, "histogram.png"), $"First passage to m_z = -1/2, sigma = {sigma}, {spins} spins", "t (ns)", "density (1/ns)",
            new DemoOutput.Curve("simulation (histogram)", centers.Select(c => c * 1e9).ToArray(), density.Select(d => d * 1e-9).ToArray(), Markers: true),
            new DemoOutput.Curve("exponential with the Fokker-Planck mean", centers.Select(c => c * 1e9).ToArray(), expo.Select(d => d * 1e-9).ToArray()));
        bool ok = remaining == 0 && Math.Abs(measured - mfpt) <= 5 * se + check;
        Console.WriteLine($"tau_D = {tauD * 1e9:F4} ns; mean first-passage time {measured * 1e9:F4} +- {se * 1e9:F4} ns over {times.Length} spins " +
                          $"({remaining} not switched by {tMax * 1e9:F2} ns), Fokker-Planck {mfpt * 1e9:F4} ns, ratio {measured / mfpt:F4} " +
                          $"(check within 5 standard errors + detection interval): {(ok ? "PASS" : "FAIL")}");
        Console.WriteLine($"wrote {outDir}/switching_times.csv and histogram.png");
        return ok ? 0 : 1;
    }

    /// <summary>Composite Simpson rule with 400 intervals.</summary>
    private static double Simpson(Func<double, double> f, double a, double b)
    {
        const int n = 400;
        double h = (b - a) / n, s = f(a) + f(b);
        for (int i = 1; i < n; i++) s += f(a + i * h) * (i % 2 == 1 ? 4 : 2);
        return s * h / 3;
    }
}
