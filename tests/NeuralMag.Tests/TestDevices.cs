using NeuralMag.AD;

namespace NeuralMag.Tests;

/// <summary>
/// ILGPU devices for tests: created once per process; a kind this machine lacks makes the test inconclusive (skipped).
/// "ilgpu-cpu" means <see cref="Config.TestDevice"/> (NM_TEST_DEVICE, default ilgpu-cpu): on a GPU machine
/// NM_TEST_DEVICE=cuda runs those rows on the GPU.
/// </summary>
internal static class TestDevices
{
    private static readonly Dictionary<string, Device?> Created = new();

    /// <summary>The kind of <see cref="Config.TestDevice"/>, for tests that create an accelerator of their own.</summary>
    public static DeviceKind TestKind => Config.TestDevice switch
    {
        "cuda" => DeviceKind.Cuda,
        "opencl" => DeviceKind.OpenCL,
        _ => DeviceKind.IlgpuCpu,
    };

    /// <summary>The device named <paramref name="name"/> ("ilgpu-cpu", "cuda", "opencl"), or a skip when it is absent.</summary>
    public static Device GetOrSkip(string name)
    {
        lock (Created)
        {
            if (!Created.TryGetValue(name, out var d))
            {
                try { d = DeviceRegistry.Get(name == "ilgpu-cpu" ? Config.TestDevice : name); }
                catch (NotSupportedException) { d = null; }
                Created[name] = d;
            }
            return d ?? throw new AssertInconclusiveException($"No {name} device on this machine.");
        }
    }
}
