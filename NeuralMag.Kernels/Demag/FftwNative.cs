using NeuralMag.AD;
using System.Numerics;
using System.Runtime.InteropServices;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// The few entry points of FFTW 3 (double precision, libfftw3) that the real-to-complex transforms need, resolved at
/// run time with <see cref="NativeLibrary"/> so that a machine without the library still runs (see
/// <see cref="Available"/>). Debian/Ubuntu: <c>apt-get install libfftw3-double3</c> (or libfftw3-dev). The optional
/// libfftw3_threads adds multi-threaded plans. FFTW's planner is not thread-safe: hold <see cref="PlannerLock"/> while
/// planning; executing a plan (the new-array execute functions) is thread-safe.
/// </summary>
public static unsafe class FftwNative
{
    /// <summary>FFTW planner flags (fftw3.h's FFTW_MEASURE, FFTW_DESTROY_INPUT, FFTW_UNALIGNED, FFTW_EXHAUSTIVE, FFTW_PRESERVE_INPUT, FFTW_PATIENT, FFTW_ESTIMATE).</summary>
    public const uint Measure = 0, Destroy = 1, Unaligned = 2, Exhaustive = 8, PreserveInput = 16, Patient = 32, Estimate = 64;

    /// <summary>Hold while calling FFTW's planner (not thread-safe); plan execution needs no lock.</summary>
    public static readonly object PlannerLock = new();

    private static readonly string[] LibraryNames = { "libfftw3.so.3", "libfftw3.so", "libfftw3.3.dylib", "libfftw3.dylib", "libfftw3-3.dll", "fftw3" };
    private static readonly string[] ThreadLibraryNames = { "libfftw3_threads.so.3", "libfftw3_threads.so", "libfftw3_threads.3.dylib", "libfftw3_threads.dylib" };

    // fftw_plan fftw_plan_dft_r2c(int rank, const int *n, double *in, fftw_complex *out, unsigned flags) and its c2r twin.
    internal static delegate* unmanaged<int, int*, double*, Complex*, uint, nint> PlanR2C;
    internal static delegate* unmanaged<int, int*, Complex*, double*, uint, nint> PlanC2R;
    internal static delegate* unmanaged<nint, double*, Complex*, void> ExecuteR2C;
    internal static delegate* unmanaged<nint, Complex*, double*, void> ExecuteC2R;
    internal static delegate* unmanaged<nint, void> DestroyPlan;
    // The guru interface (batched 1-D transforms with arbitrary strides), for the pruned transforms of padded grids.
    internal static delegate* unmanaged<int, IoDim*, int, IoDim*, double*, Complex*, uint, nint> PlanGuruR2C;
    internal static delegate* unmanaged<int, IoDim*, int, IoDim*, Complex*, double*, uint, nint> PlanGuruC2R;
    internal static delegate* unmanaged<int, IoDim*, int, IoDim*, Complex*, Complex*, int, uint, nint> PlanGuruDft;
    internal static delegate* unmanaged<nint, Complex*, Complex*, void> ExecuteDft;

    /// <summary>fftw_iodim: a length and the input and output strides (in elements).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct IoDim
    {
        public int N, Is, Os;
        public IoDim(int n, int inStride, int outStride) { N = n; Is = inStride; Os = outStride; }
    }
    internal static delegate* unmanaged<double, void> SetTimeLimit;
    internal static delegate* unmanaged<int, void> PlanWithThreads;

    static FftwNative()
    {
        if (Config.Fft == "managed")
        {
            LoadError = "NM_FFT=managed";
            return;
        }
        nint lib = 0;
        // Config.FftwLibrary (NM_FFTW_LIBRARY): an explicit file to load instead of the usual names (a missing one disables FFTW).
        var names = Config.FftwLibrary is { Length: > 0 } explicitName ? new[] { explicitName } : LibraryNames;
        foreach (var name in names)
            if (NativeLibrary.TryLoad(name, out lib)) { LibraryName = name; break; }
        if (lib == 0)
        {
            LoadError = $"none of {string.Join(", ", names)} could be loaded";
            return;
        }
        try
        {
            PlanR2C = (delegate* unmanaged<int, int*, double*, Complex*, uint, nint>)NativeLibrary.GetExport(lib, "fftw_plan_dft_r2c");
            PlanC2R = (delegate* unmanaged<int, int*, Complex*, double*, uint, nint>)NativeLibrary.GetExport(lib, "fftw_plan_dft_c2r");
            ExecuteR2C = (delegate* unmanaged<nint, double*, Complex*, void>)NativeLibrary.GetExport(lib, "fftw_execute_dft_r2c");
            ExecuteC2R = (delegate* unmanaged<nint, Complex*, double*, void>)NativeLibrary.GetExport(lib, "fftw_execute_dft_c2r");
            DestroyPlan = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(lib, "fftw_destroy_plan");
            SetTimeLimit = (delegate* unmanaged<double, void>)NativeLibrary.GetExport(lib, "fftw_set_timelimit");
            PlanGuruR2C = (delegate* unmanaged<int, IoDim*, int, IoDim*, double*, Complex*, uint, nint>)NativeLibrary.GetExport(lib, "fftw_plan_guru_dft_r2c");
            PlanGuruC2R = (delegate* unmanaged<int, IoDim*, int, IoDim*, Complex*, double*, uint, nint>)NativeLibrary.GetExport(lib, "fftw_plan_guru_dft_c2r");
            PlanGuruDft = (delegate* unmanaged<int, IoDim*, int, IoDim*, Complex*, Complex*, int, uint, nint>)NativeLibrary.GetExport(lib, "fftw_plan_guru_dft");
            ExecuteDft = (delegate* unmanaged<nint, Complex*, Complex*, void>)NativeLibrary.GetExport(lib, "fftw_execute_dft");
        }
        catch (EntryPointNotFoundException e)
        {
            LoadError = $"{LibraryName}: {e.Message}";
            return;
        }
        Available = true;
        // Threads are optional: a separate library on Debian, built into libfftw3 on some other systems.
        nint tlib = 0;
        foreach (var name in ThreadLibraryNames)
            if (NativeLibrary.TryLoad(name, out tlib)) break;
        foreach (var l in tlib != 0 ? new[] { tlib, lib } : new[] { lib })
        {
            if (NativeLibrary.TryGetExport(l, "fftw_init_threads", out var init) &&
                NativeLibrary.TryGetExport(l, "fftw_plan_with_nthreads", out var with) &&
                ((delegate* unmanaged<int>)init)() != 0)
            {
                PlanWithThreads = (delegate* unmanaged<int, void>)with;
                break;
            }
        }
    }

    /// <summary>Whether libfftw3 was found and has the needed entry points.</summary>
    public static bool Available { get; }

    /// <summary>Whether multi-threaded plans are possible (libfftw3_threads found).</summary>
    public static bool HasThreads => PlanWithThreads != null;

    /// <summary>The file name that was loaded, or null.</summary>
    public static string? LibraryName { get; }

    /// <summary>Why FFTW is not used (null when it is available).</summary>
    public static string? LoadError { get; }
}
