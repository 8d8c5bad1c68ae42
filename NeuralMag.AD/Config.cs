namespace NeuralMag.AD;

/// <summary>
/// The library's one configuration, like upstream's <c>nm.config</c>: every knob is read once from an environment
/// variable with the prefix <c>NM_</c> and may be set in code before it is used. <c>NM_DEVICE</c> (cpu | cuda |
/// opencl | ilgpu-cpu, default cpu) and <c>NM_DTYPE</c> (float64 | float32, default float64) choose where and in which
/// precision tensors live; <c>NM_FFT</c>, <c>NM_FFTW_LIBRARY</c>, <c>NM_FFTW_PLANNER</c>, <c>NM_FFTW_THREADS</c> and
/// <c>NM_CUFFT</c> steer the demag transforms; <c>NM_REFERENCE_DATA</c> names an extra reference-data folder and
/// <c>NM_FULL</c> asks tests and demos for their long variants, <c>NM_TEST_DEVICE</c> names the accelerator the device tests
/// run on; <c>NM_SWEEP_DB</c> and <c>NM_SWEEP_ADDRESS</c> tell sweep silos and
/// clients their database and address. A value outside its allowed set is an error naming
/// the variable. <see cref="Notices"/> is where the library writes its
/// one-line notices (e.g. a solver that normalized m). This is the only global state of the library.
/// </summary>
public static class Config
{
    private static Device? _device;
    private static DType? _dtype;

    /// <summary>Device used when a tensor is created without naming one.</summary>
    public static Device Device
    {
        get => _device ??= DeviceRegistry.Get(Environment.GetEnvironmentVariable("NM_DEVICE") is { Length: > 0 } s ? s : "cpu");
        set => _device = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Precision used when a tensor is created without naming one.</summary>
    public static DType DType
    {
        get => _dtype ??= Environment.GetEnvironmentVariable("NM_DTYPE") is { Length: > 0 } s ? DTypeExtensions.Parse(s) : DType.Float64;
        set => _dtype = value;
    }

    /// <summary>
    /// Where one-line notices go (a solver normalizing a non-unit m, a missing native FFT library): standard error by
    /// default; null silences them.
    /// </summary>
    public static TextWriter? Notices { get; set; } = Console.Error;

    /// <summary>Writes one notice line to <see cref="Notices"/> (prefixed "NeuralMag: ").</summary>
    public static void Notice(string message) => Notices?.WriteLine("NeuralMag: " + message);

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } s ? s.Trim() : null;

    private static string Choice(string name, string fallback, params string[] allowed)
    {
        var value = Env(name)?.ToLowerInvariant() ?? fallback;
        return allowed.Contains(value) ? value
            : throw new InvalidOperationException($"{name}='{Env(name)}' is not one of {string.Join(", ", allowed)}.");
    }

    private static string? _fft, _fftwPlanner, _fftwLibrary, _referenceData;
    private static int? _fftwThreads;
    private static bool? _cuFft, _full;

    /// <summary>Demag FFT library: "auto" (FFTW when libfftw3 loads, else the managed FFT), "fftw" or "managed" (NM_FFT).</summary>
    public static string Fft
    {
        get => _fft ??= Choice("NM_FFT", "auto", "auto", "fftw", "managed");
        set => _fft = value is "auto" or "fftw" or "managed" ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Config.Fft must be auto, fftw or managed.");
    }

    /// <summary>An explicit libfftw3 file to load instead of the usual names (NM_FFTW_LIBRARY); null: the usual names.</summary>
    public static string? FftwLibrary
    {
        get => _fftwLibrary ??= Env("NM_FFTW_LIBRARY");
        set => _fftwLibrary = value;
    }

    /// <summary>FFTW planner rigor: "measure" (default), "estimate" (reproducible plans) or "patient" (NM_FFTW_PLANNER).</summary>
    public static string FftwPlanner
    {
        get => _fftwPlanner ??= Choice("NM_FFTW_PLANNER", "measure", "measure", "estimate", "patient");
        set => _fftwPlanner = value is "measure" or "estimate" or "patient" ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Config.FftwPlanner must be measure, estimate or patient.");
    }

    /// <summary>Threads of new FFTW plans; 0 (default): chosen by grid size (NM_FFTW_THREADS).</summary>
    public static int FftwThreads
    {
        get => _fftwThreads ??= Env("NM_FFTW_THREADS") is { } s
            ? int.TryParse(s, out var n) && n >= 0 ? n : throw new InvalidOperationException($"NM_FFTW_THREADS='{s}' is not a non-negative integer.")
            : 0;
        set => _fftwThreads = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Config.FftwThreads must be >= 0.");
    }

    /// <summary>Transform the demag field with cuFFT on CUDA devices (NM_CUFFT=1); off by default.</summary>
    public static bool CuFft
    {
        get => _cuFft ??= Choice("NM_CUFFT", "0", "0", "1") == "1";
        set => _cuFft = value;
    }

    /// <summary>An extra folder of reference cases to test and verify against (NM_REFERENCE_DATA); null if unset.</summary>
    public static string? ReferenceData
    {
        get => _referenceData ??= Env("NM_REFERENCE_DATA");
        set => _referenceData = value;
    }

    /// <summary>Long variants of tests and demos (NM_FULL=1); off by default.</summary>
    public static bool Full
    {
        get => _full ??= Choice("NM_FULL", "0", "0", "1") == "1";
        set => _full = value;
    }

    private static string? _testDevice;

    /// <summary>
    /// The ILGPU device the device tests run on (NM_TEST_DEVICE): "ilgpu-cpu" (default, every machine), "cuda" or
    /// "opencl", so that on a GPU machine the same tests (residency and transfer counts, float32 kernels, batches)
    /// run on the GPU.
    /// </summary>
    public static string TestDevice
    {
        get => _testDevice ??= Choice("NM_TEST_DEVICE", "ilgpu-cpu", "ilgpu-cpu", "cuda", "opencl");
        set => _testDevice = value is "ilgpu-cpu" or "cuda" or "opencl" ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Config.TestDevice must be ilgpu-cpu, cuda or opencl.");
    }

    private static string? _sweepDatabase, _sweepAddress;

    /// <summary>
    /// Npgsql connection string of a sweep cluster's PostgreSQL database (NM_SWEEP_DB), e.g.
    /// "Host=127.0.0.1;Port=5432;Database=sweeps;Username=sweeper" with the password in PGPASSWORD or a .pgpass file;
    /// null if unset. Read from the environment so that credentials never sit in code or a repository.
    /// </summary>
    public static string? SweepDatabase
    {
        get => _sweepDatabase ??= Env("NM_SWEEP_DB");
        set => _sweepDatabase = value;
    }

    /// <summary>
    /// IP address a sweep silo binds to and advertises (NM_SWEEP_ADDRESS); null (default): the loopback address, so
    /// that a silo is not reachable from other machines unless an address is configured.
    /// </summary>
    public static string? SweepAddress
    {
        get => _sweepAddress ??= Env("NM_SWEEP_ADDRESS");
        set => _sweepAddress = value;
    }

    /// <summary>Sets the default device by name (see <see cref="DeviceRegistry.Get"/>).</summary>
    public static void SetDevice(string name) => Device = DeviceRegistry.Get(name);
}
