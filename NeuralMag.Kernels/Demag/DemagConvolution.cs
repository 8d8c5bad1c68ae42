using System.Numerics;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// The cell-wise demagnetization field h_c = sum_c' N(c - c') M_c' (A/m) of cell magnetizations M = Ms rho m (A/m),
/// by FFT convolution with a <see cref="DemagKernel"/>, or, for true periodic boundaries on all axes, by the
/// finite-difference Poisson solver in Fourier space of Bruckner et al., Sci. Rep. 11, 9202 (2021). Both operators are
/// linear and self-adjoint, so their VJP is the same operation applied to the output gradient.
/// </summary>
public static unsafe class DemagConvolution
{
    /// <param name="kernel">Demag kernel of the grid.</param>
    /// <param name="magnetization">Cells x 3 values of Ms rho m (row-major cells).</param>
    /// <param name="into">Optional cells x 3 array for the result (every element is written); a new one otherwise.</param>
    public static double[] Apply(DemagKernel kernel, double[] magnetization, double[]? into = null)
    {
        var h = Prepare(kernel, magnetization, into);
        Convolve(kernel, kernel.Transform<double>(), magnetization, h);
        return h;
    }

    /// <summary>
    /// The convolution in single precision: transforms (libfftw3f), kernel spectra (computed in float64, rounded once)
    /// and products all in float32. Without libfftw3f the float64 convolution runs on the widened values and the
    /// result is rounded (with a one-line notice).
    /// </summary>
    /// <param name="kernel">Demag kernel of the grid.</param>
    /// <param name="magnetization">Cells x 3 values of Ms rho m (row-major cells).</param>
    /// <param name="into">Optional cells x 3 array for the result (every element is written); a new one otherwise.</param>
    public static float[] Apply(DemagKernel kernel, float[] magnetization, float[]? into = null)
    {
        var h = Prepare(kernel, magnetization, into);
        var fft = kernel.Transform<float>();
        if (kernel.Fft != null && fft == null)
        {
            if (Interlocked.Exchange(ref _singleNoticeShown, 1) == 0 && FftwNative.SingleLoadError != "NM_FFT=managed")
                NeuralMag.AD.Config.Notice($"libfftw3f not found ({FftwNative.SingleLoadError}); float32 demag runs in float64 and rounds. Debian/Ubuntu: apt-get install libfftw3-single3.");
            var wide = Apply(kernel, Array.ConvertAll(magnetization, v => (double)v));
            for (int i = 0; i < h.Length; i++) h[i] = (float)wide[i];
            return h;
        }
        Convolve(kernel, fft, magnetization, h);
        return h;
    }

    private static int _singleNoticeShown;

    /// <summary>
    /// The convolution of <paramref name="members"/> independent magnetizations at once, member b in the block
    /// [b·cells·3, (b + 1)·cells·3) of <paramref name="magnetization"/> and of the result. The kernel spectra are shared;
    /// with FFTW one batched plan transforms the 3·k component grids of k members at a time (k as many as fit a
    /// cache-sized work space, chunks of members in parallel; the managed FFT goes grid by grid over its one prepared
    /// transform), the 3x3 spectral product runs per member. Member b equals
    /// <see cref="Apply(DemagKernel, double[], double[])"/> of block b to round-off (a batched plan may order its
    /// floating-point operations differently).
    /// </summary>
    /// <param name="kernel">Demag kernel of the grid.</param>
    /// <param name="magnetization">members x cells x 3 values of Ms rho m.</param>
    /// <param name="members">B, at least 1.</param>
    /// <param name="into">Optional members x cells x 3 array for the result (every element is written).</param>
    public static double[] ApplyBatch(DemagKernel kernel, double[] magnetization, int members, double[]? into = null)
    {
        var h = PrepareBatch(kernel, magnetization, members, into);
        ApplyBatch(kernel, Blocks(magnetization, members), Blocks(h, members));
        return h;
    }

    /// <summary>
    /// <see cref="ApplyBatch(DemagKernel, double[], int, double[])"/> in single precision (libfftw3f batched plans).
    /// Without libfftw3f each member runs the float64 fallback of <see cref="Apply(DemagKernel, float[], float[])"/>.
    /// </summary>
    /// <param name="kernel">Demag kernel of the grid.</param>
    /// <param name="magnetization">members x cells x 3 values of Ms rho m.</param>
    /// <param name="members">B, at least 1.</param>
    /// <param name="into">Optional members x cells x 3 array for the result (every element is written).</param>
    public static float[] ApplyBatch(DemagKernel kernel, float[] magnetization, int members, float[]? into = null)
    {
        var h = PrepareBatch(kernel, magnetization, members, into);
        ApplyBatch(kernel, Blocks(magnetization, members), Blocks(h, members));
        return h;
    }

    /// <summary>
    /// The batched convolution with each member in an array of its own (cells x 3 values each): h_b = N * M_b into
    /// <paramref name="into"/>[b] (every element written), as <see cref="ApplyBatch(DemagKernel, double[], int, double[])"/>.
    /// </summary>
    /// <param name="kernel">Demag kernel of the grid.</param>
    /// <param name="magnetization">Per member, cells x 3 values of Ms rho m.</param>
    /// <param name="into">Per member, a cells x 3 array for the result.</param>
    /// <param name="skip">Optional, per member: true leaves member b out (its output untouched). The members left are
    /// chunked as the whole batch would be, so that they run on the batch's FFT plans (no new plan per subset).</param>
    public static void ApplyBatch(DemagKernel kernel, double[][] magnetization, double[][] into, bool[]? skip = null) =>
        ConvolveBatch(kernel, kernel.Transform<double>(), CheckBlocks(kernel, magnetization, into, skip), skip);

    /// <summary>The single-precision <see cref="ApplyBatch(DemagKernel, double[][], double[][], bool[])"/> (libfftw3f; without it, member by member through the float64 fallback).</summary>
    /// <param name="kernel">Demag kernel of the grid.</param>
    /// <param name="magnetization">Per member, cells x 3 values of Ms rho m.</param>
    /// <param name="into">Per member, a cells x 3 array for the result.</param>
    /// <param name="skip">Optional, per member: true leaves member b out (as for float64).</param>
    public static void ApplyBatch(DemagKernel kernel, float[][] magnetization, float[][] into, bool[]? skip = null)
    {
        var blocks = CheckBlocks(kernel, magnetization, into, skip);
        var fft = kernel.Transform<float>();
        if (kernel.Fft != null && fft == null)
        {
            for (int b = 0; b < magnetization.Length; b++)
                if (skip == null || !skip[b]) Apply(kernel, magnetization[b], into[b]);
            return;
        }
        ConvolveBatch(kernel, fft, blocks, skip);
    }

    private static T[] PrepareBatch<T>(DemagKernel kernel, T[] magnetization, int members, T[]? into)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(magnetization);
        if (members < 1) throw new ArgumentOutOfRangeException(nameof(members), members, "A batch has at least one member.");
        var n = kernel.Cells;
        long len = (long)members * n[0] * n[1] * n[2] * 3;
        if (magnetization.Length != len) throw new ArgumentException($"DemagConvolution: {magnetization.Length} values for {members} members x {n[0] * n[1] * n[2]} cells x 3.", nameof(magnetization));
        if (into != null && into.Length != len) throw new ArgumentException($"DemagConvolution: the output has {into.Length} values, expected {len}.", nameof(into));
        return into ?? new T[len];
    }

    /// <summary>Member b of a batched array: the array and the offset of its block.</summary>
    private readonly record struct Block<T>(T[] Array, int Offset);

    private static (Block<T>[] From, Block<T>[] To) Blocks<T>(T[] flat, int members)
    {
        int len = flat.Length / members;
        var blocks = new Block<T>[members];
        for (int b = 0; b < members; b++) blocks[b] = new Block<T>(flat, b * len);
        return (blocks, blocks);
    }

    private static void ApplyBatch<T>(DemagKernel kernel, (Block<T>[] From, Block<T>[] To) from, (Block<T>[] From, Block<T>[] To) to) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var fft = kernel.Transform<T>();
        if (kernel.Fft != null && fft == null)
        {
            // float32 without libfftw3f: member by member through the float64 fallback.
            int len = kernel.Cells[0] * kernel.Cells[1] * kernel.Cells[2] * 3;
            for (int b = 0; b < from.From.Length; b++)
            {
                var one = (float[])(object)Apply(kernel, (float[])(object)from.From[b].Array.AsSpan(from.From[b].Offset, len).ToArray());
                one.AsSpan().CopyTo(((float[])(object)to.To[b].Array).AsSpan(to.To[b].Offset, len));
            }
            return;
        }
        ConvolveBatch(kernel, fft, (from.From, to.To), null);
    }

    private static (Block<T>[] From, Block<T>[] To) CheckBlocks<T>(DemagKernel kernel, T[][] magnetization, T[][] into, bool[]? skip = null)
    {
        if (skip != null && skip.Length != magnetization?.Length)
            throw new ArgumentException($"DemagConvolution: {skip.Length} skip flags for {magnetization?.Length ?? 0} members; give one per member.", nameof(skip));
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(magnetization);
        ArgumentNullException.ThrowIfNull(into);
        if (magnetization.Length < 1) throw new ArgumentException("DemagConvolution: a batch has at least one member.", nameof(magnetization));
        if (into.Length != magnetization.Length) throw new ArgumentException($"DemagConvolution: {into.Length} outputs for {magnetization.Length} members.", nameof(into));
        var n = kernel.Cells;
        int len = n[0] * n[1] * n[2] * 3;
        for (int b = 0; b < magnetization.Length; b++)
        {
            if (magnetization[b]?.Length != len) throw new ArgumentException($"DemagConvolution: member {b} has {magnetization[b]?.Length ?? 0} values for {len / 3} cells x 3.", nameof(magnetization));
            if (into[b]?.Length != len) throw new ArgumentException($"DemagConvolution: output {b} has {into[b]?.Length ?? 0} values, expected {len}.", nameof(into));
        }
        return (magnetization.Select(m => new Block<T>(m, 0)).ToArray(), into.Select(h => new Block<T>(h, 0)).ToArray());
    }

    /// <summary>
    /// Work-space bytes of the members one batched plan transforms at once: their grids stay in the last-level cache
    /// between the passes (scatter, r2c, x lines, product, x lines, c2r, gather). One plan over all members of a larger
    /// batch streams every pass through memory: on the 256x64 grid of 100x25 cells, B = 64 in one plan (100 MB of
    /// grids) took 1.6x the time of single evaluations, against this chunking.
    /// </summary>
    private const long BatchCacheBytes = 8L << 20;

    /// <summary>
    /// h_b = N * M_b for every member in precision T: chunks of members that fit <see cref="BatchCacheBytes"/>, each with
    /// one batched plan; chunks in parallel (their inner loops serial) unless the plans themselves are multi-threaded.
    /// </summary>
    private static void ConvolveBatch<T>(DemagKernel kernel, IRealFft<T>? fft, (Block<T>[] From, Block<T>[] To) blocks, bool[]? skip) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var n = kernel.Cells;
        int len = n[0] * n[1] * n[2] * 3, members = blocks.From.Length;
        int[]? live = skip == null ? null : Enumerable.Range(0, members).Where(b => !skip[b]).ToArray();
        if (live is { Length: 0 }) return;
        if (fft == null)
        {
            // One cell: h = N(0) M, member by member.
            var sp = kernel.SpectrumOf<T>();
            foreach (int b in live ?? Enumerable.Range(0, members))
            {
                var (m, mo) = blocks.From[b];
                var (h, ho) = blocks.To[b];
                for (int i = 0; i < 3; i++)
                {
                    T sum = T.Zero;
                    for (int j = 0; j < 3; j++) sum += sp[ComponentIndex(i, j)][0] * m[mo + j];
                    h[ho + i] = sum;
                }
            }
            return;
        }
        long perMember = 3L * (2 * fft.RealLength + 2 * fft.SpectrumLength) * sizeof(T);
        int chunk = (int)Math.Clamp(BatchCacheBytes / perMember, 1, members);
        int chunks = (members + chunk - 1) / chunk;
        // At least one chunk per core (when plans this small are single-threaded), so that the cores share the batch.
        if (3L * chunk * fft.RealLength < 1 << 20) chunks = Math.Max(chunks, Math.Min(members, Environment.ProcessorCount));
        // Spread the members evenly over the chunks.
        chunk = (members + chunks - 1) / chunks;
        if (live != null && live.Length < members)
        {
            // The members left, in chunks of the whole batch's size: the plans of the whole batch's chunks serve them.
            blocks = (live.Select(b => blocks.From[b]).ToArray(), live.Select(b => blocks.To[b]).ToArray());
            members = live.Length;
            chunks = (members + chunk - 1) / chunk;
        }
        bool threadedPlans = FftwRealFft3D.Threads > 1 || (FftwRealFft3D.Threads == 0 && 3L * chunk * fft.RealLength >= 1 << 20);
        bool parallelChunks = chunks > 1 && !threadedPlans && Environment.ProcessorCount > 1;
        var block = kernel.Axes.Select(k => n[k]).ToArray();
        void Chunk(int c)
        {
            int b0 = c * chunk, count = Math.Min(chunk, members - b0);
            int grain = parallelChunks ? int.MaxValue : 16384;
            var ws = kernel.RentBatch<T>(count);
            try
            {
                // The union over the chunk's members of the slabs that hold non-zero values.
                int first = int.MaxValue, end = 0;
                for (int b = b0; b < b0 + count; b++)
                {
                    var (f, e) = NonZeroSlabs(blocks.From[b].Array, blocks.From[b].Offset, len, n, kernel.Axes[0]);
                    first = Math.Min(first, f);
                    end = Math.Max(end, e);
                }
                var forwardBlock = (int[])block.Clone();
                forwardBlock[0] = end;
                long rl = fft.RealLength, sl2 = 2 * fft.SpectrumLength;
                ScatterBatch(blocks.From.AsSpan(b0, count).ToArray(), n, kernel.FftShape, ws.Real.Pointer, rl, grain);
                fft.ForwardPrunedBatch(ws.Real.Pointer, ws.Spectra.Pointer, forwardBlock, first, 3 * count);
                SpectralProduct(kernel, fft, ws.Spectra.Pointer, ws.Spectra.Pointer + sl2, ws.Spectra.Pointer + 2 * sl2, count, 3 * sl2, grain);
                fft.InversePrunedBatch(ws.Spectra.Pointer, ws.Output.Pointer, block, 3 * count);
                GatherBatch(ws.Output.Pointer, rl, n, kernel.FftShape, blocks.To.AsSpan(b0, count).ToArray(), grain);
            }
            finally
            {
                kernel.ReturnBatch(ws);
            }
        }
        if (parallelChunks) Parallel.For(0, chunks, Chunk);
        else for (int c = 0; c < chunks; c++) Chunk(c);
    }

    /// <summary>Component j of member b into the corner block of grid 3b + j (grids rl apart).</summary>
    private static void ScatterBatch<T>(Block<T>[] members, int[] n, int[] s, T* grids, long rl, int grain) where T : unmanaged
    {
        nint gp = (nint)grids;
        int rows = n[0] * n[1];
        NeuralMag.AD.ParallelLoop.For(members.Length * 3 * rows, (lo, hi) =>
        {
            var g0 = (T*)gp;
            for (int t = lo; t < hi; t++)
            {
                int grid = t / rows, row = t % rows, b = grid / 3, j = grid % 3;
                int i0 = row / n[1], i1 = row % n[1];
                T* dst = g0 + grid * rl + ((long)i0 * s[1] + i1) * s[2];
                var (values, offset) = members[b];
                int src = offset + row * n[2] * 3 + j;
                for (int i2 = 0; i2 < n[2]; i2++) dst[i2] = values[src + i2 * 3];
            }
        }, grain == int.MaxValue ? grain : Math.Max(1, grain / n[2]));
    }

    /// <summary>The corner block of grid 3b + i into component i of member b.</summary>
    private static void GatherBatch<T>(T* grids, long rl, int[] n, int[] s, Block<T>[] members, int grain) where T : unmanaged
    {
        nint gp = (nint)grids;
        int rows = n[0] * n[1];
        NeuralMag.AD.ParallelLoop.For(members.Length * 3 * rows, (lo, hi) =>
        {
            var g0 = (T*)gp;
            for (int t = lo; t < hi; t++)
            {
                int grid = t / rows, row = t % rows, b = grid / 3, i = grid % 3;
                int i0 = row / n[1], i1 = row % n[1];
                T* src = g0 + grid * rl + ((long)i0 * s[1] + i1) * s[2];
                var (values, offset) = members[b];
                int dst = offset + row * n[2] * 3 + i;
                for (int i2 = 0; i2 < n[2]; i2++) values[dst + i2 * 3] = src[i2];
            }
        }, grain == int.MaxValue ? grain : Math.Max(1, grain / n[2]));
    }

    private static T[] Prepare<T>(DemagKernel kernel, T[] magnetization, T[]? into)
    {
        var n = kernel.Cells;
        int cells = n[0] * n[1] * n[2];
        if (magnetization.Length != cells * 3) throw new ArgumentException($"DemagConvolution: {magnetization.Length} values for {cells} cells x 3.", nameof(magnetization));
        if (into != null && into.Length != cells * 3) throw new ArgumentException($"DemagConvolution: the output has {into.Length} values, expected {cells * 3}.", nameof(into));
        return into ?? new T[cells * 3];
    }

    /// <summary>h = N * M in the precision T (one implementation for float and double).</summary>
    private static void Convolve<T>(DemagKernel kernel, IRealFft<T>? fft, T[] magnetization, T[] h) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var n = kernel.Cells;
        if (fft == null)
        {
            // A single cell: the tensor is the self term only (its Fourier transform is itself).
            var sp = kernel.SpectrumOf<T>();
            Array.Clear(h);
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) h[i] += sp[ComponentIndex(i, j)][0] * magnetization[j];
            return;
        }
        var ws = kernel.Rent<T>();
        // The data occupy the cell block of the padded grid: the transforms skip the all-zero lines (forward) and the
        // lines that miss the block (inverse), about 1.75 of 3 line passes per direction for a 2x-padded 3D grid.
        var block = kernel.Axes.Select(k => n[k]).ToArray();
        // The slabs of the first transformed axis that hold non-zero values of M: [first, end).
        var (first, end) = NonZeroSlabs(magnetization, n, kernel.Axes[0]);
        var forwardBlock = (int[])block.Clone();
        forwardBlock[0] = end;
        try
        {
            // M -> M^ (r2c, which keeps its input: the padding of ws.Real stays zero), h^ = N^ M^, h^ -> h (c2r).
            for (int j = 0; j < 3; j++)
            {
                Scatter(magnetization, j, n, kernel.FftShape, ws.Real.Pointer);
                fft.ForwardPruned(ws.Real.Pointer, ws.Spectra[j].Pointer, forwardBlock, first);
            }
            MultiplyInPlace(kernel, fft, ws);
            for (int i = 0; i < 3; i++)
            {
                fft.InversePruned(ws.Spectra[i].Pointer, ws.Output.Pointer, block);
                Gather(ws.Output.Pointer, n, kernel.FftShape, h, i);
            }
        }
        finally
        {
            kernel.Return(ws);
        }
    }

    /// <summary>
    /// The range [first, end) of indices along the first transformed axis at which M has non-zero values ([0, n] for
    /// a dense M, found at once; [0, 1) for an all-zero M): the slabs outside it need no forward transform. A
    /// localized M, such as the cotangent of a probe objective in the VJP, is zero in most of them.
    /// </summary>
    private static (int First, int End) NonZeroSlabs<T>(T[] magnetization, int[] n, int axis) where T : unmanaged, IFloatingPointIeee754<T> =>
        NonZeroSlabs(magnetization, 0, magnetization.Length, n, axis);

    /// <summary><see cref="NonZeroSlabs{T}(T[], int[], int)"/> of the block [start, start + length) (one member of a batch).</summary>
    private static (int First, int End) NonZeroSlabs<T>(T[] magnetization, int start, int length, int[] n, int axis) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int inner = 3;
        for (int k = axis + 1; k < 3; k++) inner *= n[k];
        int lo = 0, hi = length - 1;
        while (lo < length && T.IsZero(magnetization[start + lo])) lo++;
        if (lo == length) return (0, 1);
        while (T.IsZero(magnetization[start + hi])) hi--;
        return (lo / inner, hi / inner + 1);
    }

    /// <summary>
    /// h^ = N^ M^ at every frequency of the half spectrum, overwriting M^ (the kernel spectra already carry the 1/N of
    /// the inverse; spectra are interleaved (re, im), and the real N^ scales both parts). The kernel is stored for
    /// non-negative frequencies of the folded axes: a mirrored row reads the stored row and flips the sign of the
    /// components odd along that axis.
    /// </summary>
    private static void MultiplyInPlace<T>(DemagKernel kernel, IRealFft<T> fft, DemagWorkspace<T> ws) where T : unmanaged, IFloatingPointIeee754<T> =>
        SpectralProduct(kernel, fft, ws.Spectra[0].Pointer, ws.Spectra[1].Pointer, ws.Spectra[2].Pointer, 1, 0, 16384);

    /// <summary>
    /// Ĥ from M̂ in place for <paramref name="members"/> members: the Newell tensor's product
    /// (<see cref="MultiplyInPlace{T}(DemagKernel, int[], T*, T*, T*, int, long, int)"/>) or the true-PBC projector's
    /// (<see cref="TruePeriodicDemag.ProjectInPlace{T}"/>).
    /// </summary>
    private static void SpectralProduct<T>(DemagKernel kernel, IRealFft<T> fft, T* x, T* y, T* z, int members, long memberStride, int grain) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (kernel.IsTruePeriodic) TruePeriodicDemag.ProjectInPlace(kernel.ProjectorOf<T>(), fft.SpectrumLength, x, y, z, members, memberStride, grain);
        else MultiplyInPlace(kernel, fft.SpectrumShape, x, y, z, members, memberStride, grain);
    }

    /// <summary>
    /// The product of <see cref="MultiplyInPlace{T}(DemagKernel, IRealFft{T}, DemagWorkspace{T})"/> for
    /// <paramref name="members"/> members with the shared kernel spectra: member b's three spectra at x, y, z +
    /// b·<paramref name="memberStride"/> (in T).
    /// </summary>
    private static void MultiplyInPlace<T>(DemagKernel kernel, int[] hs, T* x, T* y, T* z, int members, long memberStride, int grain) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sp = kernel.SpectrumOf<T>();
        T[] nxx = sp[0], nxy = sp[1], nxz = sp[2], nyy = sp[3], nyz = sp[4], nzz = sp[5];
        int r = hs.Length;
        var h3 = Enumerable.Repeat(1, 3 - r).Concat(hs).ToArray();
        var s3 = Enumerable.Repeat(1, 3 - r).Concat(kernel.StoredShape).ToArray();
        var phys = new int[3];
        for (int pIdx = 0; pIdx < 3; pIdx++) phys[pIdx] = pIdx - (3 - r) >= 0 ? kernel.Axes[pIdx - (3 - r)] : -1;
        // Sign flips of (xy, xz, yz) when padded axis 0 or 1 is mirrored.
        T Flip(int c, int pIdx) => phys[pIdx] < 0 ? T.One : T.CreateTruncating(kernel.MirrorSign(c, phys[pIdx]));
        T fxy0 = Flip(1, 0), fxz0 = Flip(2, 0), fyz0 = Flip(4, 0), fxy1 = Flip(1, 1), fxz1 = Flip(2, 1), fyz1 = Flip(4, 1);
        nint p0 = (nint)x, p1 = (nint)y, p2 = (nint)z;
        int rows = h3[0] * h3[1], n2 = h3[2];
        NeuralMag.AD.ParallelLoop.For(members * rows, (lo, hi) =>
        {
            for (int t = lo; t < hi; t++)
            {
                int row = t % rows;
                long offset = t / rows * memberStride;
                T* a = (T*)p0 + offset, b = (T*)p1 + offset, c = (T*)p2 + offset;
                int i0 = row / h3[1], i1 = row % h3[1];
                int j0 = i0, j1 = i1;
                T sxy = T.One, sxz = T.One, syz = T.One;
                if (s3[0] < h3[0] && i0 > h3[0] / 2) { j0 = h3[0] - i0; sxy *= fxy0; sxz *= fxz0; syz *= fyz0; }
                if (s3[1] < h3[1] && i1 > h3[1] / 2) { j1 = h3[1] - i1; sxy *= fxy1; sxz *= fxz1; syz *= fyz1; }
                long k0 = (long)row * n2, o0 = ((long)j0 * s3[1] + j1) * n2;
                for (int i2 = 0; i2 < n2; i2++)
                {
                    long k = 2 * (k0 + i2), o = o0 + i2;
                    TensorPoint(nxx[o], sxy * nxy[o], sxz * nxz[o], nyy[o], syz * nyz[o], nzz[o], ref a[k], ref a[k + 1], ref b[k], ref b[k + 1], ref c[k], ref c[k + 1]);
                }
            }
        }, grain == int.MaxValue ? grain : Math.Max(1, grain / n2));
    }

    /// <summary>
    /// ĥ = N̂ M̂ at one frequency, in place on M̂ = (x, y, z) (real and imaginary parts), with the real symmetric
    /// tensor (xx, xy, xz, yy, yz, zz) there: the arithmetic of the product for the CPU loop above and the device
    /// kernel (DeviceDemagConvolution).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static void TensorPoint<T>(T kxx, T kxy, T kxz, T kyy, T kyz, T kzz, ref T xr, ref T xi, ref T yr, ref T yi, ref T zr, ref T zi)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T x0 = xr, x1 = xi, y0 = yr, y1 = yi, z0 = zr, z1 = zi;
        xr = kxx * x0 + kxy * y0 + kxz * z0;
        xi = kxx * x1 + kxy * y1 + kxz * z1;
        yr = kxy * x0 + kyy * y0 + kyz * z0;
        yi = kxy * x1 + kyy * y1 + kyz * z1;
        zr = kxz * x0 + kyz * y0 + kzz * z0;
        zi = kxz * x1 + kyz * y1 + kzz * z1;
    }

    /// <summary>Component j of the cell values into the corner block of the padded grid s.</summary>
    private static void Scatter<T>(T[] values, int j, int[] n, int[] s, T* grid) where T : unmanaged
    {
        nint gp = (nint)grid;
        NeuralMag.AD.ParallelLoop.For(n[0] * n[1], (lo, hi) =>
        {
            var g = (T*)gp;
            for (int row = lo; row < hi; row++)
            {
                int i0 = row / n[1], i1 = row % n[1];
                T* dst = g + ((long)i0 * s[1] + i1) * s[2];
                int src = row * n[2] * 3 + j;
                for (int i2 = 0; i2 < n[2]; i2++) dst[i2] = values[src + i2 * 3];
            }
        }, Math.Max(1, 16384 / n[2]));
    }

    /// <summary>The corner block of the padded grid s into component i of the cell values.</summary>
    private static void Gather<T>(T* grid, int[] n, int[] s, T[] values, int i) where T : unmanaged
    {
        nint gp = (nint)grid;
        NeuralMag.AD.ParallelLoop.For(n[0] * n[1], (lo, hi) =>
        {
            var g = (T*)gp;
            for (int row = lo; row < hi; row++)
            {
                int i0 = row / n[1], i1 = row % n[1];
                T* src = g + ((long)i0 * s[1] + i1) * s[2];
                int dst = row * n[2] * 3 + i;
                for (int i2 = 0; i2 < n[2]; i2++) values[dst + i2 * 3] = src[i2];
            }
        }, Math.Max(1, 16384 / n[2]));
    }

    private static int ComponentIndex(int i, int j) => (Math.Min(i, j), Math.Max(i, j)) switch
    {
        (0, 0) => 0, (0, 1) => 1, (0, 2) => 2, (1, 1) => 3, (1, 2) => 4, _ => 5,
    };
}
