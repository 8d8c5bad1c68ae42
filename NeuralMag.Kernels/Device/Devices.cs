using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using NeuralMag.AD;
using DeviceRegistry = NeuralMag.AD.DeviceRegistry;

namespace NeuralMag.Kernels;

/// <summary>
/// The ILGPU devices: one process-wide ILGPU <see cref="Context"/> (created on first use, disposed at process exit)
/// and the devices "cuda", "opencl" and "ilgpu-cpu" registered in <see cref="DeviceRegistry"/>.
/// </summary>
public static class Devices
{
    private static readonly object Gate = new();
    private static Context? _context;
    private static bool _registered;
    private static readonly List<Accelerator> Accelerators = new();

    /// <summary>Registers the device factories with <see cref="DeviceRegistry"/>. Safe to call any number of times.</summary>
    public static void Register()
    {
        lock (Gate)
        {
            if (_registered) return;
            _registered = true;
        }
        DeviceRegistry.Register("cuda", () => Create(DeviceKind.Cuda));
        DeviceRegistry.Register("opencl", () => Create(DeviceKind.OpenCL));
        DeviceRegistry.Register("ilgpu-cpu", () => Create(DeviceKind.IlgpuCpu));
        DeviceRegistry.EnsureProviders ??= Register;
    }

    /// <summary>Runs when NeuralMag.Kernels loads; NeuralMag.AD's DeviceRegistry also loads it by name on demand.</summary>
#pragma warning disable CA2255 // a library module initializer is the point here: registration on assembly load
    [ModuleInitializer]
    internal static void OnLoad() => Register();
#pragma warning restore CA2255

    /// <summary>The process-wide ILGPU context with every accelerator type enabled and ILGPU.Algorithms' math.</summary>
    public static Context Context
    {
        get
        {
            lock (Gate)
            {
                if (_context != null) return _context;
                _context = Context.Create(b => b.Default().EnableAlgorithms());
                AppDomain.CurrentDomain.ProcessExit += (_, _) => DisposeAll();
                return _context;
            }
        }
    }

    private static void DisposeAll()
    {
        lock (Gate)
        {
            foreach (var a in Accelerators) a.Dispose();
            Accelerators.Clear();
            _context?.Dispose();
            _context = null;
        }
    }

    /// <summary>What ILGPU found on this machine, e.g. "CPU accelerator only" or "Cuda: NVIDIA H100; CPU: ...".</summary>
    public static string Describe()
    {
        var found = Context.Devices.Where(d => d.AcceleratorType != AcceleratorType.CPU)
            .Select(d => $"{d.AcceleratorType}: {d.Name}").ToList();
        return found.Count == 0 ? "CPU accelerator only" : string.Join("; ", found) + " and the CPU accelerator";
    }

    /// <summary>
    /// The host/device copy counters of an ILGPU device (<see cref="IlgpuBackend.Transfers"/>): counts and bytes of
    /// every copy in each direction, resettable for a measurement.
    /// </summary>
    /// <exception cref="ArgumentException">The device is not an ILGPU device (the CPU device copies nothing).</exception>
    public static TransferCounters Transfers(AD.Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return (device.Backend as IlgpuBackend)?.Transfers
               ?? throw new ArgumentException($"Device '{device}' is not an ILGPU device (cuda, opencl, ilgpu-cpu); only those count host/device copies.", nameof(device));
    }

    /// <summary>Creates the device of that kind on its first ILGPU accelerator (index 0).</summary>
    /// <exception cref="NotSupportedException">No such accelerator on this machine; the message says what is missing.</exception>
    public static AD.Device Create(DeviceKind kind)
    {
        var ctx = Context;
        Accelerator acc;
        string name;
        switch (kind)
        {
            case DeviceKind.Cuda:
            {
                var list = ctx.GetCudaDevices();
                if (list.Count == 0)
                    throw new NotSupportedException(
                        $"NM_DEVICE=cuda but no CUDA device was found (ILGPU saw: {Describe()}). " +
                        "Install the NVIDIA driver (libcuda) or use NM_DEVICE=cpu.");
                acc = list[0].CreateAccelerator(ctx);
                name = $"cuda:0 ({list[0].Name})";
                break;
            }
            case DeviceKind.OpenCL:
            {
                var list = ctx.GetCLDevices();
                if (list.Count == 0)
                    throw new NotSupportedException(
                        $"NM_DEVICE=opencl but no OpenCL device was found (ILGPU saw: {Describe()}). " +
                        "Install an OpenCL runtime (ICD loader and a vendor driver) or use NM_DEVICE=cpu.");
                acc = list[0].CreateAccelerator(ctx);
                name = $"opencl:0 ({list[0].Name})";
                break;
            }
            case DeviceKind.IlgpuCpu:
                acc = ctx.CreateCPUAccelerator(0);
                name = "ilgpu-cpu";
                break;
            default:
                throw new NotSupportedException($"Device kind {kind} is not an ILGPU device.");
        }
        lock (Gate) Accelerators.Add(acc);
        var backend = new IlgpuBackend(acc);
        var device = new AD.Device(name, kind, backend);
        backend.Device = device;
        return device;
    }
}
