using NeuralMag.AD;

namespace NeuralMag.Tests.Solvers;

using State = NeuralMag.State;

/// <summary>
/// The preconditioners of the implicit stage solves: the probed block diagonal and band against the dense Jacobian
/// built column by column from J v, their factorizations against the dense matrix, and KenCarp5 runs on a stiff film
/// with and without them.
/// </summary>
[TestClass]
public sealed class StagePreconditionerTests
{
    /// <summary>Dense J (row-major n × n) of <paramref name="jacobianTimes"/>, column p = J e_p.</summary>
    private static double[,] Dense(Func<NTensor, NTensor> jacobianTimes, int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        var dense = new double[n, n];
        for (int p = 0; p < n; p++)
        {
            var e = new double[n];
            e[p] = 1;
            var column = jacobianTimes(NTensor.FromArray(e, shape)).ToArray();
            for (int q = 0; q < n; q++) dense[q, p] = column[q];
        }
        return dense;
    }

    /// <summary>
    /// A linear map on [4, 3, 2, 3] that couples each node with every node within one index along each axis by a 3 × 3
    /// block of deterministic, non-symmetric entries (the reach of nodal finite-element couplings).
    /// </summary>
    private static NTensor NeighbourOperator(NTensor v)
    {
        int[] dims = { 4, 3, 2 };
        var x = v.ToArray();
        var y = new double[x.Length];
        for (int i0 = 0; i0 < dims[0]; i0++)
            for (int i1 = 0; i1 < dims[1]; i1++)
                for (int i2 = 0; i2 < dims[2]; i2++)
                    for (int d0 = -1; d0 <= 1; d0++)
                        for (int d1 = -1; d1 <= 1; d1++)
                            for (int d2 = -1; d2 <= 1; d2++)
                            {
                                int j0 = i0 + d0, j1 = i1 + d1, j2 = i2 + d2;
                                if (j0 < 0 || j0 >= dims[0] || j1 < 0 || j1 >= dims[1] || j2 < 0 || j2 >= dims[2]) continue;
                                int i = (i0 * dims[1] + i1) * dims[2] + i2, j = (j0 * dims[1] + j1) * dims[2] + j2;
                                for (int r = 0; r < 3; r++)
                                    for (int a = 0; a < 3; a++)
                                        y[3 * i + r] += Math.Sin(1.3 * i + 0.7 * j + 2.1 * r + 0.4 * a + 0.2) * (i == j ? 3 : 1) * x[3 * j + a];
                            }
        return NTensor.FromArray(y, v.Shape.ToArray());
    }

    private static void AssertProbesMatch(Func<NTensor, NTensor> jacobianTimes, NTensor like, double tolerance, string what)
    {
        var shape = like.Shape.ToArray();
        var dense = Dense(jacobianTimes, shape);
        int n = like.Size, c = shape[^1];
        var blocks = BlockJacobiPreconditioner.Probe(jacobianTimes, like)!;
        var band = BandedStagePreconditioner.Probe(jacobianTimes, like)!;
        int nonTrivialAxes = shape[..^1].Count(e => e > 1);
        Assert.AreEqual(c << nonTrivialAxes, blocks.Products, $"{what}: c · 2^k probes");
        Assert.AreEqual(c * shape[..^1].Aggregate(1, (a, e) => a * Math.Min(3, e)), band.Products, $"{what}: c · Π min(3, n_j) probes");
        double maxEntry = 0;
        for (int p = 0; p < n; p++)
            for (int q = 0; q < n; q++) maxEntry = Math.Max(maxEntry, Math.Abs(dense[p, q]));
        for (int node = 0; node < n / c; node++)
            for (int r = 0; r < c; r++)
                for (int a = 0; a < c; a++)
                    Assert.AreEqual(dense[node * c + r, node * c + a], blocks[node, r, a], tolerance * maxEntry, $"{what}: block of node {node} ({r}, {a})");
        for (int p = 0; p < n; p++)
            for (int q = 0; q < n; q++)
                Assert.AreEqual(dense[p, q], band[p, q], tolerance * maxEntry, $"{what}: band entry ({p}, {q})");
    }

    [TestMethod]
    public void ProbedBlocksAndBandEqualTheDenseJacobian()
    {
        var like = NTensor.Zeros(new[] { 4, 3, 2, 3 });
        // An exact linear map: the colouring recovers every block without round-off beyond the sums' (1e-12).
        AssertProbesMatch(NeighbourOperator, like, 1e-12, "neighbour operator");

        // The factorizations: M = I − hγ J from the band and the blocks against the dense M.
        const double hg = 0.3;
        var shape = like.Shape.ToArray();
        var dense = Dense(NeighbourOperator, shape);
        int n = like.Size;
        var band = BandedStagePreconditioner.Probe(NeighbourOperator, like)!;
        Assert.IsTrue(band.Factor(hg));
        var x = Enumerable.Range(0, n).Select(i => Math.Cos(0.37 * i)).ToArray();
        double[] Times(double[] v, bool transpose) => Enumerable.Range(0, n).Select(p =>
            Enumerable.Range(0, n).Sum(q => ((p == q ? 1 : 0) - hg * (transpose ? dense[q, p] : dense[p, q])) * v[q])).ToArray();
        foreach (bool transpose in new[] { false, true })
        {
            var back = band.Solve(Times(x, transpose), transpose);
            for (int p = 0; p < n; p++) Assert.AreEqual(x[p], back[p], 1e-10, $"band LU{(transpose ? "ᵀ" : "")} solve, entry {p}");
        }
        var blocks = BlockJacobiPreconditioner.Probe(NeighbourOperator, like)!;
        var inverse = blocks.ShiftedInverse(hg);
        var y = BlockJacobiPreconditioner.Apply(inverse, 3, x, transpose: false);
        var yt = BlockJacobiPreconditioner.Apply(inverse, 3, x, transpose: true);
        for (int node = 0; node < n / 3; node++)
            for (int r = 0; r < 3; r++)
            {
                // (I − hγ D) y = x and (I − hγ D)ᵀ yt = x, node by node.
                double m = 0, mt = 0;
                for (int a = 0; a < 3; a++)
                {
                    m += ((r == a ? 1 : 0) - hg * dense[3 * node + r, 3 * node + a]) * y[3 * node + a];
                    mt += ((r == a ? 1 : 0) - hg * dense[3 * node + a, 3 * node + r]) * yt[3 * node + a];
                }
                Assert.AreEqual(x[3 * node + r], m, 1e-12, $"block inverse, node {node}");
                Assert.AreEqual(x[3 * node + r], mt, 1e-12, $"transposed block inverse, node {node}");
            }
    }

    [TestMethod]
    public void ProbedBlocksOfTheLlgTorqueEqualItsDenseJacobian()
    {
        // The linearized torque of exchange + uniaxial anisotropy + Zeeman (Kvaerno: all of h implicit) on 3 x 2 x 1
        // cells: J v is a difference quotient of our field operators with a relative step of 1e-5, exact for these
        // affine fields up to round-off of ~1e-16/1e-5 of the field, so probes and columns agree to ~1e-10 of the
        // largest entry, not to 1e-12.
        var state = new State(new Mesh(new[] { 3, 2, 1 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["Ku"] = 4e5;
        state.Material["Ku_axis"] = new VectorCellFunction(state).Fill(new[] { 0.0, 0.6, 0.8 });
        state.Material["alpha"] = 0.1;
        var x = state.Coordinates("nnn");
        var m = NTensor.Stack(-1, NTensor.OnesLike(x[0]), (x[0] * 1e9).Cos() * 0.5, (x[1] * 1e9).Sin() * 0.3);
        state["m"] = new VectorFunction(state, m / m.Norm(-1).Unsqueeze(-1));
        new ExchangeField().Register(state, "exchange");
        new UniaxialAnisotropyField().Register(state, "uaniso");
        new ExternalField(new[] { 1e4, 2e4, -3e4 }).Register(state, "external");
        new TotalField("exchange", "uaniso", "external").Register(state);
        var rk = LLGTorqueSplit.Create(state, ImplicitMethod.Kvaerno5, new[] { "t", "m" }, Array.Empty<NTensor>, 1e-12, 1e-5, 1e-5, 1000, null);
        var lin = rk.Linearize(0, state.M.Tensor);
        AssertProbesMatch(lin.JacobianTimes, state.M.Tensor, 1e-9, "LLG torque");
    }

    /// <summary>The bench's stiff film on fewer cells: 16 x 4 x 1 cells of 0.5 nm, exchange implicit, demag + Zeeman explicit.</summary>
    private static State StiffFilm()
    {
        var state = new State(new Mesh(new[] { 16, 4, 1 }, new[] { 0.5e-9, 0.5e-9, 0.5e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["alpha"] = 0.02;
        var x = state.Coordinates("nnn");
        var m = NTensor.Stack(-1, NTensor.OnesLike(x[0]), (x[0] * (Math.PI / 8e-9)).Cos() * 0.5, (x[1] * (Math.PI / 2e-9)).Cos() * 0.3);
        state["m"] = new VectorFunction(state, m / m.Norm(-1).Unsqueeze(-1));
        new ExchangeField().Register(state, "exchange");
        new DemagField().Register(state, "demag");
        new ExternalField(new[] { -19576.05800030313, 3421.8312764757497, 0.0 }).Register(state, "external");
        new TotalField("exchange", "demag", "external").Register(state);
        new TotalField("exchange").Register(state, "impl");
        new TotalField("demag", "external").Register(state, "expl");
        return state;
    }

    [TestMethod]
    public void PreconditionedKenCarpRunsAgreeWithUnpreconditionedOnesAndNeedFewerProducts()
    {
        const double t1 = 2e-12, tol = 1e-5;
        var results = new Dictionary<StagePreconditioner, (double[] M, ImplicitRungeKutta Rk)>();
        foreach (var kind in new[] { StagePreconditioner.None, StagePreconditioner.BlockJacobi, StagePreconditioner.Banded })
        {
            var llg = new LLGSolver(StiffFilm(), rtol: tol, atol: tol, implicitMethod: ImplicitMethod.KenCarp5, implicitOptions: new ImplicitSolverOptions { Preconditioner = kind });
            var m = llg.Solve(t1).ToArray();
            var rk = (ImplicitRungeKutta)llg.Integrator;
            results[kind] = (m, rk);
            Console.WriteLine($"{kind}: {rk.AcceptedSteps}+{rk.RejectedSteps} steps, {rk.NewtonIterations} Newton iterations, {rk.JacobianVectorProducts} J v ({rk.PreconditionerProducts} probes, {rk.KrylovIterations} GMRES)");
        }
        var reference = results[StagePreconditioner.None];
        foreach (var kind in new[] { StagePreconditioner.BlockJacobi, StagePreconditioner.Banded })
        {
            var (m, rk) = results[kind];
            double diff = m.Zip(reference.M).Max(p => Math.Abs(p.First - p.Second));
            Console.WriteLine($"{kind}: max |m − m_unpreconditioned| = {diff:E2}");
            // Both runs solve every stage to the Newton tolerance (1e-2 of the local tolerance) with GMRES residuals of
            // 1e-3: the runs differ by the stages' Newton errors, a small fraction of the tolerance.
            Assert.IsTrue(diff < 0.1 * tol, $"{kind}: {diff:E2}");
            Assert.AreEqual(reference.Rk.AcceptedSteps, rk.AcceptedSteps, $"{kind}: same steps");
            Assert.IsTrue(rk.PreconditionerProducts > 0, $"{kind}: probed");
        }
        long none = reference.Rk.JacobianVectorProducts, jacobi = results[StagePreconditioner.BlockJacobi].Rk.JacobianVectorProducts,
            banded = results[StagePreconditioner.Banded].Rk.JacobianVectorProducts;
        Assert.IsTrue(jacobi < none, $"block Jacobi {jacobi} J v vs {none} without preconditioner");
        Assert.IsTrue(banded < jacobi, $"band LU {banded} J v vs block Jacobi {jacobi}");
    }

    [TestMethod]
    public void GradientsThroughPreconditionedStagesAgreeWithUnpreconditionedOnes()
    {
        // KenCarp5 on the exchange-coupled macrospins (exchange implicit, Zeeman explicit), Newton to 1e-8 of the
        // tolerance: with every stage solved that closely, the three runs follow the same discrete solution, and their
        // backprop gradients (transposed stage solves to 1e-10, preconditioned by Mᵀ or not) agree to ~1e-8.
        var grads = new Dictionary<StagePreconditioner, NTensor[]>();
        var adjointProducts = new Dictionary<StagePreconditioner, long>();
        foreach (var kind in new[] { StagePreconditioner.None, StagePreconditioner.BlockJacobi, StagePreconditioner.Banded })
        {
            var (state, _, Grads, _) = CheckpointedGradientTests.CoupledMacrospins(2e-9, 1e-6);
            new TotalField("exchange").Register(state, "impl");
            new TotalField("external").Register(state, "expl");
            var options = new ImplicitSolverOptions { NewtonTolerance = 1e-8, Preconditioner = kind };
            var llg = new LLGSolver(state, parameters: new[] { "material.alpha" }, rtol: 1e-5, atol: 1e-5, implicitMethod: ImplicitMethod.KenCarp5, implicitOptions: options);
            grads[kind] = Grads((m, a) => llg.Solve(3e-12, m, [a]));
            var rk = (ImplicitRungeKutta)llg.Integrator;
            adjointProducts[kind] = rk.AdjointProducts;
            Console.WriteLine($"{kind}: dL/dalpha {grads[kind][2].Item():E12}, {rk.AdjointProducts} adjoint VJP + {rk.AdjointPreconditionerProducts} J v probes, {rk.JacobianVectorProducts} forward J v");
        }
        var reference = grads[StagePreconditioner.None];
        foreach (var kind in new[] { StagePreconditioner.BlockJacobi, StagePreconditioner.Banded })
        {
            var g = grads[kind];
            Assert.AreEqual(reference[0].Item(), g[0].Item(), 1e-8 * Math.Abs(reference[0].Item()), $"{kind}: loss");
            Assert.AreEqual(reference[2].Item(), g[2].Item(), 1e-7 * Math.Abs(reference[2].Item()), $"{kind}: dL/dalpha");
            var r1 = reference[1].ToArray(); var g1 = g[1].ToArray();
            for (int i = 0; i < r1.Length; i++) Assert.AreEqual(r1[i], g1[i], 1e-7 * (1 + Math.Abs(r1[i])), $"{kind}: dL/dm0[{i}]");
        }
        Assert.IsTrue(adjointProducts[StagePreconditioner.Banded] < adjointProducts[StagePreconditioner.None], "the band's Mᵀ cuts the adjoint GMRES products");
    }
}
