using NeuralMag.AD;

namespace NeuralMag.Tests.Spintronics;

using State = NeuralMag.State;

[TestClass]
public sealed class ThermalTests
{
    private const double Temperature = 300, Alpha = 0.5, Dx = 5e-9;
    private const int Spins = 1000;

    [TestMethod]
    public void PhiloxMatchesTheRandom123KnownAnswers()
    {
        // Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors, Salmon et al., SC'11).
        Assert.AreEqual((0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u), CounterRandom.Philox(0, 0, 0, 0, 0, 0));
        Assert.AreEqual((0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu), CounterRandom.Philox(~0u, ~0u, ~0u, ~0u, ~0u, ~0u));
        Assert.AreEqual((0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u),
            CounterRandom.Philox(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0));
    }

    [TestMethod]
    public void NormalNumbersDependOnlyOnTheirIndexAndAreStandardNormal()
    {
        // 200 000 numbers are drawn in parallel chunks; a prefix drawn alone (one chunk, one thread) must agree bit for
        // bit, and the sample mean and variance must be 0 and 1 within 5 standard errors (1e-2 and 1.6e-2).
        var z = CounterRandom.Normal(42, 7, 200_000);
        var prefix = CounterRandom.Normal(42, 7, 1001);
        CollectionAssert.AreEqual(prefix, z.Take(1001).ToArray());
        CollectionAssert.AreNotEqual(prefix, CounterRandom.Normal(42, 8, 1001));
        double mean = z.Average(), variance = z.Sum(x => (x - mean) * (x - mean)) / (z.Length - 1);
        Assert.AreEqual(0, mean, 5 / Math.Sqrt(z.Length));
        Assert.AreEqual(1, variance, 5 * Math.Sqrt(2.0 / z.Length));
    }

    /// <summary>
    /// Independent macrospins: a periodic 1D chain without exchange, every node the moment Ms V of one cell (two half
    /// cells), started in seeded random directions, with the field <paramref name="field"/> (a function of m).
    /// </summary>
    private static State Ensemble(Func<NTensor, NTensor>? field, double[]? uniform)
    {
        var state = new State(new Mesh(new[] { Spins }, new[] { Dx, Dx, Dx }, pbc: new Pbc[] { true }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = SpintronicsSetup.Ms;
        state.Material["alpha"] = Alpha;
        state["T"] = Temperature;
        var m = state.Tensor(CounterRandom.Normal(1, 1, Spins * 3), new[] { Spins, 3 });
        state["m"] = new VectorFunction(state, m / m.Norm(-1).Unsqueeze(-1));
        if (field != null) new ExternalField(field).Register(state, "");
        else new ExternalField(uniform!).Register(state, "");
        new ThermalField().Register(state);
        return state;
    }

    /// <summary>The thermal diffusion time τ_D = μ0 Ms V (1 + α²)/(2 α γ k_B T) of one node (Brown 1963).</summary>
    private static double DiffusionTime => Constants.Mu0 * SpintronicsSetup.Ms * Dx * Dx * Dx * (1 + Alpha * Alpha) / (2 * Alpha * Constants.Gamma * Constants.Boltzmann * Temperature);

    /// <summary>m_z of every spin at 10 snapshots τ_D apart, after 5 τ_D of equilibration, steps of τ_D/200.</summary>
    private static double[] SampleMz(State state, ulong seed)
    {
        double tau = DiffusionTime;
        var solver = new StochasticLLGSolver(state, tau / 200, seed);
        solver.Step(5 * tau);
        var samples = new List<double>();
        for (int k = 0; k < 10; k++)
        {
            solver.Step(tau);
            var m = state.M.Tensor.ToArray();
            for (int i = 0; i < Spins; i++) samples.Add(m[3 * i + 2]);
        }
        return samples.ToArray();
    }

    /// <summary>∫_a^b f by composite Simpson with 2000 intervals.</summary>
    private static double Integrate(Func<double, double> f, double a, double b)
    {
        const int n = 2000;
        double h = (b - a) / n, s = f(a) + f(b);
        for (int i = 1; i < n; i++) s += f(a + i * h) * (i % 2 == 1 ? 4 : 2);
        return s * h / 3;
    }

    [TestMethod]
    [DataRow(0.5)]
    [DataRow(2.0)]
    [DataRow(6.0)]
    public void UniaxialMacrospinsReachTheBoltzmannDistribution(double sigma)
    {
        // E = −Ku V m_z² per spin: p(m_z) ∝ exp(σ m_z²), σ = Ku V/(k_B T) (Brown, Phys. Rev. 130, 1677 (1963)); the
        // anisotropy acts through its lumped field h = H_K m_z ẑ, H_K = 2 Ku/(μ0 Ms), so the spins stay independent.
        double ku = sigma * Constants.Boltzmann * Temperature / (Dx * Dx * Dx);
        double hk = 2 * ku / (Constants.Mu0 * SpintronicsSetup.Ms);
        var ez = NTensor.FromArray(new[] { 0.0, 0, 1 });
        var state = Ensemble(m => m.Slice(1, 2, 3) * ez * hk, null);
        var mz = SampleMz(state, 11);
        double z = Integrate(x => Math.Exp(sigma * x * x), -1, 1);
        double expected = Integrate(x => x * x * Math.Exp(sigma * x * x), -1, 1) / z;
        var sq = mz.Select(x => x * x).ToArray();
        double measured = sq.Average(), sd = Math.Sqrt(sq.Sum(x => (x - measured) * (x - measured)) / (sq.Length - 1));
        // 10 000 samples; snapshots τ_D apart are nearly independent (the m_z² mode decays at 3/τ_D), so the standard
        // error is sd/sqrt(10 000) up to a factor ~1.1; tolerance 5 of them. The stochastic Heun bias is linear in Δt:
        // measured +0.010 at Δt = τ_D/25 (σ = 6), so ≈ +0.0013 ≤ 1 standard error at the τ_D/200 used here.
        double se = sd / Math.Sqrt(sq.Length);
        Console.WriteLine($"sigma {sigma}: <m_z^2> = {measured:F5} +- {se:F5}, analytic {expected:F5} ({(measured - expected) / se:F2} SE)");
        Assert.AreEqual(expected, measured, 5 * se, "<m_z^2>");
        // The histogram of m_z in 8 bins against the analytic density: each bin within 5 binomial standard errors.
        for (int b = 0; b < 8; b++)
        {
            double lo = -1 + b * 0.25, hi = lo + 0.25;
            double pBin = Integrate(x => Math.Exp(sigma * x * x), lo, hi) / z;
            double fraction = mz.Count(x => x >= lo && (x < hi || b == 7)) / (double)mz.Length;
            Assert.AreEqual(pBin, fraction, 5 * Math.Sqrt(pBin * (1 - pBin) / mz.Length) + 1e-3, $"bin [{lo}, {hi})");
        }
    }

    [TestMethod]
    [DataRow(1.0)]
    [DataRow(4.0)]
    public void ZeemanMacrospinsFollowTheLangevinFunction(double xi)
    {
        // Free spins in a field H ẑ: <m_z> = L(ξ) = coth ξ − 1/ξ, ξ = μ0 Ms V H/(k_B T) (Langevin paramagnetism).
        double h = xi * Constants.Boltzmann * Temperature / (Constants.Mu0 * SpintronicsSetup.Ms * Dx * Dx * Dx);
        var state = Ensemble(null, new[] { 0, 0, h });
        var mz = SampleMz(state, 12);
        double measured = mz.Average(), sd = Math.Sqrt(mz.Sum(x => (x - measured) * (x - measured)) / (mz.Length - 1));
        // Tolerance 5 standard errors of the 10 000 samples; the Heun bias (+0.009 at Δt = τ_D/25 for ξ = 4, linear in
        // Δt) is ≈ 0.001 here, below one standard error.
        double expected = 1 / Math.Tanh(xi) - 1 / xi, se = sd / Math.Sqrt(mz.Length);
        Console.WriteLine($"xi {xi}: <m_z> = {measured:F5} +- {se:F5}, Langevin {expected:F5} ({(measured - expected) / se:F2} SE)");
        Assert.AreEqual(expected, measured, 5 * se, "<m_z> = L(xi)");
    }

    [TestMethod]
    [DataRow(1e-13)]
    [DataRow(1e-12)]
    public void ThermalFieldAmplitudeFollowsTheFluctuationDissipationRelationPerNode(double dt)
    {
        // Brown: σ² = 2 α k_B T/(γ μ0 M_i Δt), M_i the node's moment Σ_c Ms_c ρ_c V/2^d: on 2×2×2 cells a corner node
        // has V/8 of moment volume, an edge node V/4, a face node V/2, the centre node V. With the noise set to
        // 1/sqrt(Δt) the field is σ itself (rel 1e-12; the same arithmetic in another order).
        var state = new NeuralMag.State(new Mesh(new[] { 2, 2, 2 }, new[] { 4e-9, 5e-9, 6e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 6e5;
        state.Material["alpha"] = 0.3;
        state["T"] = (Func<NTensor, NTensor>)(t => t * 0 + 250.0);
        state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0, 1 });
        new ThermalField().Register(state);
        state["thermal_noise"] = new VectorFunction(state).Fill(new[] { 1.0, 1, 1 }.Select(v => v / Math.Sqrt(dt)).ToArray());
        var h = state.Tensor("h_thermal");
        double v = 4e-9 * 5e-9 * 6e-9;
        double Sigma(double share) => Math.Sqrt(2 * 0.3 * Constants.Boltzmann * 250 / (Constants.Gamma * Constants.Mu0 * 6e5 * v * share * dt));
        foreach (var (node, share) in new[] { ((0, 0, 0), 1.0 / 8), ((1, 0, 0), 1.0 / 4), ((1, 1, 0), 1.0 / 2), ((1, 1, 1), 1.0), ((2, 2, 2), 1.0 / 8) })
            for (int c = 0; c < 3; c++)
                Assert.AreEqual(Sigma(share), h[node.Item1, node.Item2, node.Item3, c].Item(), 1e-12 * Sigma(share), $"node {node}, component {c}");
    }

    [TestMethod]
    public void AdaptiveSolverRefusesTheThermalField()
    {
        var state = Ensemble(null, new[] { 0, 0, 1e5 });
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => new LLGSolver(state));
        StringAssert.Contains(e.Message, "StochasticLLGSolver");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new StochasticLLGSolver(state, 0));
    }

    [TestMethod]
    public void SeededRunsRepeatAndDifferentSeedsDiffer()
    {
        var a = Ensemble(null, new[] { 0, 0, 1e5 });
        var b = Ensemble(null, new[] { 0, 0, 1e5 });
        new StochasticLLGSolver(a, 1e-13, 5).Step(1e-11);
        var s = new StochasticLLGSolver(b, 1e-13, 5);
        s.Step(0.5e-11);
        s.Step(0.5e-11);
        CollectionAssert.AreEqual(a.M.Tensor.ToArray(), b.M.Tensor.ToArray(), "one call or two: the same noise path");
        var c = Ensemble(null, new[] { 0, 0, 1e5 });
        new StochasticLLGSolver(c, 1e-13, 6).Step(1e-11);
        CollectionAssert.AreNotEqual(a.M.Tensor.ToArray(), c.M.Tensor.ToArray());
    }
}
