namespace NeuralMag.AD;

/// <summary>Where a device's memory lives and whose code runs its kernels.</summary>
public enum DeviceKind
{
    /// <summary>Host memory, plain C# loops (System.Threading.Tasks.Parallel).</summary>
    Cpu,
    /// <summary>An NVIDIA GPU through ILGPU's CUDA accelerator.</summary>
    Cuda,
    /// <summary>An OpenCL device through ILGPU's OpenCL accelerator.</summary>
    OpenCL,
    /// <summary>ILGPU's CPU accelerator: runs the GPU kernels' code on the host (slow; for testing GPU code without a GPU).</summary>
    IlgpuCpu,
}

/// <summary>
/// A compute device: owns the memory of the tensors created on it and executes their primitive operations
/// through its <see cref="IBackend"/>. The CPU device is built in; ILGPU devices (CUDA, OpenCL) are provided by
/// NeuralMag.Kernels, which registers them with <see cref="DeviceRegistry"/>.
/// </summary>
public sealed class Device
{
    /// <summary>A device that runs its tensors' operations through <paramref name="backend"/>.</summary>
    /// <param name="name">Human-readable name, e.g. "cuda:0 (NVIDIA H100)".</param>
    /// <param name="kind">The kind of hardware.</param>
    /// <param name="backend">The primitive operations of the device.</param>
    public Device(string name, DeviceKind kind, IBackend backend)
    {
        Name = name;
        Kind = kind;
        Backend = backend;
    }

    /// <summary>Human-readable name, e.g. "cpu" or "cuda:0 (NVIDIA H100)".</summary>
    public string Name { get; }

    /// <summary>The kind of hardware (CPU, CUDA, OpenCL, ILGPU's CPU accelerator).</summary>
    public DeviceKind Kind { get; }

    /// <summary>The primitive operations of this device.</summary>
    public IBackend Backend { get; }

    /// <summary>True for the built-in host device <see cref="Cpu"/>.</summary>
    public bool IsCpu => Kind == DeviceKind.Cpu;

    /// <summary>The host device: plain C#, always present.</summary>
    public static Device Cpu { get; } = new("cpu", DeviceKind.Cpu, new CpuBackend());

    /// <summary>The device's <see cref="Name"/>.</summary>
    public override string ToString() => Name;
}

/// <summary>
/// Maps device names (as in <c>NM_DEVICE</c>) to factories. NeuralMag.Kernels registers "cuda", "opencl" and "ilgpu-cpu".
/// </summary>
public static class DeviceRegistry
{
    private static readonly Dictionary<string, Func<Device>> Factories = new(StringComparer.OrdinalIgnoreCase);
    private static readonly Dictionary<string, Device> Created = new(StringComparer.OrdinalIgnoreCase);
    private static readonly object Gate = new();

    /// <summary>Registers a factory for a device name; the factory runs at most once, on first use.</summary>
    public static void Register(string name, Func<Device> factory)
    {
        lock (Gate) Factories[name] = factory;
    }

    /// <summary>Hook run before a non-CPU lookup so that the assembly providing GPU devices can register itself.</summary>
    public static Action? EnsureProviders { get; set; }

    /// <summary>
    /// Default provider hook: loads NeuralMag.Kernels by name (this assembly cannot reference it) and calls
    /// NeuralMag.Kernels.Devices.Register(), so NM_DEVICE=cuda works in any app that ships NeuralMag.Kernels.
    /// </summary>
    private static void LoadKernelsAssembly()
    {
        Type? t;
        try { t = Type.GetType("NeuralMag.Kernels.Devices, NeuralMag.Kernels", throwOnError: false); }
        catch (Exception) { t = null; }
        t?.GetMethod("Register", Type.EmptyTypes)?.Invoke(null, null);
    }

    /// <summary>Returns the device of that name ("cpu", "cuda", "opencl", ...), creating it on first use.</summary>
    /// <exception cref="NotSupportedException">The name is unknown or the device is not present on this machine.</exception>
    public static Device Get(string name)
    {
        var key = name.Trim();
        if (key.Equals("cpu", StringComparison.OrdinalIgnoreCase)) return Device.Cpu;
        var baseName = key.Split(':')[0];
        if (!Factories.ContainsKey(baseName)) (EnsureProviders ?? LoadKernelsAssembly)();
        lock (Gate)
        {
            if (Created.TryGetValue(key, out var d)) return d;
            if (!Factories.TryGetValue(baseName, out var factory))
                throw new NotSupportedException(
                    $"Unknown device '{name}'. Known devices: cpu{(Factories.Count > 0 ? ", " + string.Join(", ", Factories.Keys) : "")}. " +
                    "GPU devices are provided by NeuralMag.Kernels (reference it, or call NeuralMag.Kernels.Devices.Register()).");
            d = factory();
            Created[key] = d;
            return d;
        }
    }
}
