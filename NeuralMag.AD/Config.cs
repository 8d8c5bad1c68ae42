namespace NeuralMag.AD;

/// <summary>
/// The explicit default device and dtype, like upstream's <c>nm.config</c>. Initialized once from the environment
/// variables <c>NM_DEVICE</c> (cpu | cuda | opencl, default cpu) and <c>NM_DTYPE</c> (float64 | float32, default
/// float64); both may be set in code before tensors are created. <see cref="Notices"/> is where the library writes its
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

    /// <summary>Sets the default device by name (see <see cref="DeviceRegistry.Get"/>).</summary>
    public static void SetDevice(string name) => Device = DeviceRegistry.Get(name);
}
