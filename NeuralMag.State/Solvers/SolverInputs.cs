using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Checks that solvers run on their inputs before any work starts: m is a finite unit-vector field where the
/// material is magnetic, the damping is a finite non-negative number, and times are finite and ordered.
/// </summary>
internal static class SolverInputs
{
    /// <summary>Largest deviation of |m| from 1 (where Ms &gt; 0) that a solver accepts without normalizing.</summary>
    public const double UnitTolerance = 1e-6;

    /// <summary>
    /// m ready to integrate: throws where m is not finite or has zero length on a magnetic point (Ms &gt; 0 and rho above
    /// the dtype's epsilon in an adjacent cell); where its length differs from 1 by more than
    /// <see cref="UnitTolerance"/> on a magnetic point, returns m with those vectors normalized (differentiably) and
    /// writes one notice per <paramref name="notified"/> flag. Points outside the magnet are left as they are. With
    /// <paramref name="normalize"/> false (an explicit, differentiable start value), m is checked and noticed but
    /// returned unchanged, so that its derivatives stay those of the function the caller wrote.
    /// </summary>
    public static NTensor UnitMagnetization(State state, NTensor m, string operation, ref bool notified, bool normalize = true)
    {
        // On an accelerator the common case (every point finite and of unit length) is settled by two scalar
        // reductions there, without copying m to the host; anything else takes the full check below.
        if (!m.Device.IsCpu && m.Rank >= 1 && m.GetShape()[^1] == 3)
        {
            double finite = m.Sum().Item();
            double worstDeviation = (m.Norm(-1) - 1.0).Abs().Max().Item();
            if (double.IsFinite(finite) && worstDeviation <= UnitTolerance) return m;
        }
        var values = m.ToArray();
        int points = values.Length / 3;
        var magnetic = MagneticPointsOfBatch(state, m.GetShape());
        int nonFinite = -1, zero = -1, off = 0, firstOff = -1, magneticCount = 0;
        double worst = 0;
        for (int p = 0; p < points; p++)
        {
            double x = values[3 * p], y = values[3 * p + 1], z = values[3 * p + 2];
            if (!double.IsFinite(x) || !double.IsFinite(y) || !double.IsFinite(z))
            {
                if (nonFinite < 0) nonFinite = p;
                continue;
            }
            if (magnetic != null && !magnetic[p]) continue;
            magneticCount++;
            double len = Math.Sqrt(x * x + y * y + z * z);
            if (len == 0)
            {
                if (zero < 0) zero = p;
                continue;
            }
            double dev = Math.Abs(len - 1);
            if (dev > UnitTolerance)
            {
                off++;
                if (firstOff < 0) firstOff = p;
                worst = Math.Max(worst, dev);
            }
        }
        var pointShape = m.GetShape()[..^1];
        if (nonFinite >= 0)
            throw new ArgumentException($"{operation}: m is not finite (NaN or infinity) at point {Index(nonFinite, pointShape)}; every entry of m must be a finite number.", "m");
        if (zero >= 0)
            throw new ArgumentException($"{operation}: m has zero length at point {Index(zero, pointShape)} where the material is magnetic (Ms > 0); m must be a unit vector there.", "m");
        if (off == 0) return m;
        if (!notified)
        {
            notified = true;
            Config.Notice($"{operation}: |m| differs from 1 by up to {worst:g3} at {off} of {magneticCount} magnetic points (first at {Index(firstOff, pointShape)}); " +
                (normalize ? "normalized m there." : "m0 is a differentiable input and is integrated as given (normalize it, e.g. m0 / |m0|, where it may deviate)."));
        }
        if (!normalize) return m;
        var length = m.Norm(-1).Unsqueeze(-1);
        var unit = m / NTensor.Maximum(length, state.Scalar(double.Epsilon));
        if (magnetic == null) return unit;
        var mask = state.Tensor(magnetic.Select(b => b ? 1.0 : 0.0).ToArray(), pointShape).Unsqueeze(-1);
        return unit * mask + m * (1.0 - mask);
    }

    /// <summary>
    /// <see cref="MagneticPoints"/> for m of one system, or for each member of a batched m ([B] + m's member shape;
    /// Ms and rho shared or per member), one after another; null when every point of every member is magnetic.
    /// </summary>
    private static bool[]? MagneticPointsOfBatch(State state, int[] mShape)
    {
        if (state.Batch is not int members || mShape.Length != state.Mesh.Dim + 2) return MagneticPoints(state, mShape, -1);
        var memberShape = mShape[1..];
        var masks = Enumerable.Range(0, members).Select(b => MagneticPoints(state, memberShape, b)).ToArray();
        if (masks.All(mask => mask == null)) return null;
        int points = Shapes.Product(memberShape[..^1]);
        return masks.SelectMany(mask => mask ?? Enumerable.Repeat(true, points).ToArray()).ToArray();
    }

    /// <summary>
    /// Per point of m (nodes, or cells with FIC), whether an adjacent cell is magnetic (Ms &gt; 0 and rho &gt; eps);
    /// null when every point is (no Ms attribute, or Ms and rho positive everywhere). <paramref name="member"/> ≥ 0
    /// reads member b of per-member Ms and rho on a batched state.
    /// </summary>
    private static bool[]? MagneticPoints(State state, int[] mShape, int member)
    {
        var mesh = state.Mesh;
        var cellShape = mesh.N;
        if (!state.Has("material__Ms")) return null;
        double[] ms = CellValues(state, "material__Ms", cellShape, member);
        double[] rho = state.Has("rho") ? CellValues(state, "rho", cellShape, member) : Enumerable.Repeat(1.0, ms.Length).ToArray();
        var cells = new bool[ms.Length];
        bool all = true;
        for (int c = 0; c < cells.Length; c++)
        {
            cells[c] = ms[c] > 0 && rho[c] > state.Eps;
            all &= cells[c];
        }
        if (all) return null;
        // Spread the cell mask to the points of m, one axis at a time: a node is magnetic when one of its two
        // neighbouring cells along every axis is (the node's 2^d adjacent cells), periodic axes wrapping around.
        var mask = cells;
        var shape = (int[])cellShape.Clone();
        var spaces = state.M.Spaces;
        for (int axis = 0; axis < shape.Length; axis++)
        {
            if (spaces[axis] != 'n') continue;
            mask = SpreadToNodes(mask, shape, axis, mShape[axis], mesh.Pbc[axis].IsPeriodic);
            shape[axis] = mShape[axis];
        }
        return mask;
    }

    private static bool[] SpreadToNodes(bool[] cells, int[] shape, int axis, int nodes, bool periodic)
    {
        int outer = shape.Take(axis).Aggregate(1, (a, b) => a * b);
        int inner = shape.Skip(axis + 1).Aggregate(1, (a, b) => a * b);
        int n = shape[axis];
        var result = new bool[outer * nodes * inner];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < nodes; i++)
            {
                int left = periodic ? (i - 1 + n) % n : i - 1, right = periodic ? i % n : i;
                for (int r = 0; r < inner; r++)
                {
                    bool v = (left >= 0 && left < n && cells[(o * n + left) * inner + r]) || (right < n && cells[(o * n + right) * inner + r]);
                    result[(o * nodes + i) * inner + r] = v;
                }
            }
        return result;
    }

    private static double[] CellValues(State state, string name, int[] cellShape, int member)
    {
        var t = state.Tensor(name);
        if (member >= 0 && state.Batch is int members && Batch.Members(t, cellShape, name, members) > 0) t = t.Slice(0, member, member + 1).Squeeze(0);
        var shape = t.GetShape();
        if (shape.Length == 0 || t.Size == 1) return Enumerable.Repeat(t.ToArray()[0], cellShape.Aggregate(1, (a, b) => a * b)).ToArray();
        return t.Expand(cellShape).ToArray();
    }

    private static string Index(int flat, int[] shape)
    {
        var idx = new int[shape.Length];
        for (int a = shape.Length - 1; a >= 0; a--)
        {
            idx[a] = flat % shape[a];
            flat /= shape[a];
        }
        return "(" + string.Join(", ", idx) + ")";
    }

    /// <summary>Throws unless the damping values are finite and non-negative.</summary>
    public static void CheckDamping(NTensor alpha, string operation)
    {
        var a = alpha.ToArray();
        for (int i = 0; i < a.Length; i++)
        {
            if (!double.IsFinite(a[i]))
                throw new ArgumentException($"{operation}: material.alpha is not finite ({a[i]}) at entry {i}; the Gilbert damping must be a finite number >= 0.", "material.alpha");
            if (a[i] < 0)
                throw new ArgumentOutOfRangeException("material.alpha", a[i], $"{operation}: the Gilbert damping material.alpha is negative at entry {i}; it must be >= 0 (a negative damping pumps energy into the system).");
        }
    }

    /// <summary>Throws unless <paramref name="value"/> is finite and positive (seconds).</summary>
    public static void CheckPositiveSeconds(double value, string paramName, string operation, bool allowZero = false)
    {
        if (!double.IsFinite(value) || value < 0 || (!allowZero && value == 0))
            throw new ArgumentOutOfRangeException(paramName, value, $"{operation}: {paramName} must be a finite {(allowZero ? "non-negative" : "positive")} time in s.");
    }

    /// <summary>Throws unless the output times are finite, ascending and not before <paramref name="t0"/> (all in s).</summary>
    public static void CheckTimes(IReadOnlyList<double> times, double t0, string operation)
    {
        ArgumentNullException.ThrowIfNull(times);
        if (times.Count == 0) throw new ArgumentException($"{operation}: times is empty; give at least one output time in s.", nameof(times));
        double prev = t0;
        for (int i = 0; i < times.Count; i++)
        {
            double t = times[i];
            if (!double.IsFinite(t)) throw new ArgumentOutOfRangeException(nameof(times), t, $"{operation}: times[{i}] is not finite; output times must be finite numbers in s.");
            if (t < prev)
                throw new ArgumentOutOfRangeException(nameof(times), t, i == 0
                    ? $"{operation}: times[0] = {t:g} s lies before the state's time t = {t0:g} s; output times must not be before state.T."
                    : $"{operation}: times[{i}] = {t:g} s lies before times[{i - 1}] = {prev:g} s; output times must be ascending.");
            prev = t;
        }
    }
}
