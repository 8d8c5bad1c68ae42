using NeuralMag.AD;

namespace NeuralMag.Tests.Spintronics;

using State = NeuralMag.State;

[TestClass]
public sealed class SlonczewskiTests
{
    private const double P = 0.5, Lambda = 2, D = 2e-9;

    private static State Pillar(double[] m0, double alpha, double ku, double epsPrime, double hz = 0)
    {
        var state = SpintronicsSetup.Macrospin(m0, alpha);
        state.Material["Ku"] = ku;
        state.Material["Ku_axis"] = new[] { 0.0, 0, 1 };
        state.Material["p"] = new[] { 0.0, 0, 1 };
        state.Material["P"] = P;
        state.Material["Lambda"] = Lambda;
        state.Material["eps_prime"] = epsPrime;
        state.Material["d"] = D;
        new UniaxialAnisotropyField().Register(state, "uaniso");
        new ExternalField(new[] { 0, 0, hz }).Register(state, "external");
        new TotalField("uaniso", "external").Register(state);
        new SlonczewskiTorque().Register(state);
        return state;
    }

    private static double Beta(double j) => Constants.Gamma / Constants.Mu0 * Constants.ReducedPlanck * j / (Constants.ElementaryCharge * SpintronicsSetup.Ms * D);

    [TestMethod]
    public void AntiparallelMacrospinBecomesUnstableAtTheCriticalCurrent()
    {
        // Linearizing the torque (mumax3 form, Vansteenkiste et al., AIP Advances 4, 107133 (2014)) about m = −p with
        // uniaxial anisotropy H_K along p: a small deviation grows at Re λ = [β(j)(ε − α ε') − α γ H_K]/(1 + α²),
        // ε = P Λ²/2 at m · p = −1 (Sun, PRB 62, 570 (2000) for ε' = 0), so the critical current is
        // j_c = α μ0 H_K e Ms d / (ħ (ε − α ε')).
        const double alpha = 0.05, ku = 5e5, epsPrime = 0.1;
        double hk = 2 * ku / (Constants.Mu0 * SpintronicsSetup.Ms), eps = P * Lambda * Lambda / 2;
        double jc = alpha * Constants.Mu0 * hk * Constants.ElementaryCharge * SpintronicsSetup.Ms * D / (Constants.ReducedPlanck * (eps - alpha * epsPrime));
        double Analytic(double j) => (Beta(j) * (eps - alpha * epsPrime) - alpha * Constants.Gamma * hk) / (1 + alpha * alpha);
        double Measured(double j)
        {
            var state = Pillar(new[] { 1e-4, 0, -1 }, alpha, ku, epsPrime);
            state["j"] = new[] { 0, 0, j };
            var llg = new LLGSolver(state, rtol: 1e-10, atol: 1e-12);
            var ms = llg.Solve(new[] { 0.1e-9, 0.4e-9 });
            double Dev(NTensor m) { var v = m.ToArray(); return Math.Sqrt(v[0] * v[0] + v[1] * v[1]); }
            return Math.Log(Dev(ms[1]) / Dev(ms[0])) / 0.3e-9;
        }
        double j1 = 0.8 * jc, j2 = 1.2 * jc;
        double r1 = Measured(j1), r2 = Measured(j2);
        double scale = alpha * Constants.Gamma * hk / (1 + alpha * alpha);
        double jcMeasured = j1 - r1 * (j2 - j1) / (r2 - r1);
        Console.WriteLine($"rates {r1:E6} / {r2:E6} 1/s, analytic {Analytic(j1):E6} / {Analytic(j2):E6}; j_c {jcMeasured:E6} vs {jc:E6} A/m^2");
        // The linearization error is O(|δ|²) with |δ| < 1e-3 over the run, and the integrator's 1e-10: tolerance 1e-4 of the damping rate.
        Assert.AreEqual(Analytic(j1), r1, 1e-4 * scale);
        Assert.AreEqual(Analytic(j2), r2, 1e-4 * scale);
        Assert.AreEqual(jc, jcMeasured, 1e-4 * jc);
    }

    [TestMethod]
    public void SpinTorqueOscillatorPrecessesAtGammaTimesTheAxialField()
    {
        // p = ẑ, a field H < 0 along z and uniaxial H_K: for the torque with ε' = 0, θ' = −γ'(α h_z + H_j ε(θ)) sin θ
        // and φ' = γ'(h_z − α H_j ε(θ)), h_z = H + H_K cos θ, H_j = β/γ. A stable orbit has α h_z = −H_j ε(θ*), where
        // the precession frequency is ω = γ' (1 + α²) h_z = γ h_z (Slonczewski 1996; Kiselev et al., Nature 425, 380 (2003)).
        // j is chosen for cos θ* = 1/2; the orbit is stable because dε/dθ > 0 for Λ > 1.
        const double alpha = 0.2, h = -1e6, hk = 2.5e5, cosStar = 0.5;
        double ku = hk * Constants.Mu0 * SpintronicsSetup.Ms / 2, l2 = Lambda * Lambda;
        double epsStar = P * l2 / ((l2 + 1) + (l2 - 1) * cosStar);
        double hj = -alpha * (h + hk * cosStar) / epsStar;
        double j = hj * Constants.Mu0 * Constants.ElementaryCharge * SpintronicsSetup.Ms * D / Constants.ReducedPlanck;
        double theta0 = 75 * Math.PI / 180;
        var state = Pillar(new[] { Math.Sin(theta0), 0, Math.Cos(theta0) }, alpha, ku, 0, h);
        state["j"] = new[] { 0, 0, j };
        var llg = new LLGSolver(state, rtol: 1e-9, atol: 1e-10);
        var times = Enumerable.Range(0, 101).Select(i => 1.3e-9 + i * 1e-12).ToArray();
        var ms = llg.Solve(times).Select(m => m[0, 0, 0].ToArray()).ToArray();
        double mz = ms[^1][2];
        // Unwrapped azimuth, least-squares slope.
        var phi = new double[ms.Length];
        for (int i = 0; i < ms.Length; i++)
        {
            phi[i] = Math.Atan2(ms[i][1], ms[i][0]);
            if (i > 0) while (phi[i] - phi[i - 1] < -Math.PI) phi[i] += 2 * Math.PI;
            if (i > 0) while (phi[i] - phi[i - 1] > Math.PI) phi[i] -= 2 * Math.PI;
        }
        double tm = times.Average(), pm = phi.Average();
        double omega = times.Zip(phi, (t, p) => (t - tm) * (p - pm)).Sum() / times.Sum(t => (t - tm) * (t - tm));
        double expected = Constants.Gamma * (h + hk * cosStar);
        Console.WriteLine($"cos theta = {mz:F6} (analytic {cosStar}), omega = {omega:E6} rad/s (analytic {expected:E6}), f = {Math.Abs(omega) / (2 * Math.PI) / 1e9:F4} GHz");
        // The orbit angle relaxes at γ'(dg/dθ) sin θ* ≈ 5e9 /s: after 1.3 ns the start's 15° offset is below 1e-3 in cos θ;
        // ω follows h_z, so its error is H_K Δcos θ / |h_z| < 3e-4 (tolerance 1e-3).
        Assert.AreEqual(cosStar, mz, 1e-3, "cos theta*");
        Assert.AreEqual(expected, omega, 1e-3 * Math.Abs(expected), "omega = gamma h_z");
    }
}
