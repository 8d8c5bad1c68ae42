using NeuralMag.AD;
using System.Numerics;
using System.Runtime.InteropServices;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// The few entry points of FFTW 3 that the real-to-complex transforms need, in double precision (libfftw3) and single
/// precision (libfftw3f), resolved at run time with <see cref="NativeLibrary"/> so that a machine without the libraries
/// still runs (see <see cref="Available"/> and <see cref="SingleAvailable"/>). Debian/Ubuntu:
/// <c>apt-get install libfftw3-double3 libfftw3-single3</c> (or libfftw3-dev). The optional libfftw3_threads and
/// libfftw3f_threads add multi-threaded plans. FFTW's planner is not thread-safe (both precisions share its global
/// state): hold <see cref="PlannerLock"/> while planning; executing a plan (the new-array execute functions) is thread-safe.
/// </summary>
public static unsafe class FftwNative
{
    /// <summary>FFTW planner flags (fftw3.h's FFTW_MEASURE, FFTW_DESTROY_INPUT, FFTW_UNALIGNED, FFTW_EXHAUSTIVE, FFTW_PRESERVE_INPUT, FFTW_PATIENT, FFTW_ESTIMATE).</summary>
    public const uint Measure = 0, Destroy = 1, Unaligned = 2, Exhaustive = 8, PreserveInput = 16, Patient = 32, Estimate = 64;

    /// <summary>Hold while calling FFTW's planner (not thread-safe); plan execution needs no lock.</summary>
    public static readonly object PlannerLock = new();

    private static readonly string[] LibraryNames = { "libfftw3.so.3", "libfftw3.so", "libfftw3.3.dylib", "libfftw3.dylib", "libfftw3-3.dll", "fftw3" };
    private static readonly string[] ThreadLibraryNames = { "libfftw3_threads.so.3", "libfftw3_threads.so", "libfftw3_threads.3.dylib", "libfftw3_threads.dylib" };
    private static readonly string[] SingleLibraryNames = { "libfftw3f.so.3", "libfftw3f.so", "libfftw3f.3.dylib", "libfftw3f.dylib", "libfftw3f-3.dll", "fftw3f" };
    private static readonly string[] SingleThreadLibraryNames = { "libfftw3f_threads.so.3", "libfftw3f_threads.so", "libfftw3f_threads.3.dylib", "libfftw3f_threads.dylib" };

    /// <summary>fftw_iodim: a length and the input and output strides (in elements).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct IoDim
    {
        public int N, Is, Os;
        public IoDim(int n, int inStride, int outStride) { N = n; Is = inStride; Os = outStride; }
    }

    /// <summary>
    /// The entry points of one precision ("fftw_" or "fftwf_" names). The data pointers are untyped: double and
    /// fftw_complex for libfftw3, float and fftwf_complex for libfftw3f (a complex value is two reals, re then im).
    /// </summary>
    internal sealed class Api
    {
        // fftw_plan fftw_plan_dft_r2c(int rank, const int *n, double *in, fftw_complex *out, unsigned flags) and its c2r twin.
        public delegate* unmanaged<int, int*, void*, void*, uint, nint> PlanR2C;
        public delegate* unmanaged<int, int*, void*, void*, uint, nint> PlanC2R;
        public delegate* unmanaged<nint, void*, void*, void> ExecuteR2C;
        public delegate* unmanaged<nint, void*, void*, void> ExecuteC2R;
        public delegate* unmanaged<nint, void> DestroyPlan;
        // The guru interface (batched 1-D transforms with arbitrary strides), for the pruned transforms of padded grids.
        public delegate* unmanaged<int, IoDim*, int, IoDim*, void*, void*, uint, nint> PlanGuruR2C;
        public delegate* unmanaged<int, IoDim*, int, IoDim*, void*, void*, uint, nint> PlanGuruC2R;
        public delegate* unmanaged<int, IoDim*, int, IoDim*, void*, void*, int, uint, nint> PlanGuruDft;
        public delegate* unmanaged<nint, void*, void*, void> ExecuteDft;
        public delegate* unmanaged<double, void> SetTimeLimit;
        public delegate* unmanaged<int, void> PlanWithThreads;

        /// <summary>Bytes of one real value (8 for libfftw3, 4 for libfftw3f).</summary>
        public int RealSize { get; init; }
        public bool Available { get; private set; }
        public bool HasThreads => PlanWithThreads != null;
        public string? LibraryName { get; private set; }
        public string? LoadError { get; private set; }

        /// <summary>Loads the first of <paramref name="names"/> and its "<paramref name="prefix"/>..." entry points.</summary>
        public static Api Load(string prefix, int realSize, string[] names, string[] threadNames)
        {
            var api = new Api { RealSize = realSize };
            nint lib = 0;
            foreach (var name in names)
                if (NativeLibrary.TryLoad(name, out lib)) { api.LibraryName = name; break; }
            if (lib == 0)
            {
                api.LoadError = $"none of {string.Join(", ", names)} could be loaded";
                return api;
            }
            try
            {
                nint F(string n) => NativeLibrary.GetExport(lib, prefix + n);
                api.PlanR2C = (delegate* unmanaged<int, int*, void*, void*, uint, nint>)F("plan_dft_r2c");
                api.PlanC2R = (delegate* unmanaged<int, int*, void*, void*, uint, nint>)F("plan_dft_c2r");
                api.ExecuteR2C = (delegate* unmanaged<nint, void*, void*, void>)F("execute_dft_r2c");
                api.ExecuteC2R = (delegate* unmanaged<nint, void*, void*, void>)F("execute_dft_c2r");
                api.DestroyPlan = (delegate* unmanaged<nint, void>)F("destroy_plan");
                api.SetTimeLimit = (delegate* unmanaged<double, void>)F("set_timelimit");
                api.PlanGuruR2C = (delegate* unmanaged<int, IoDim*, int, IoDim*, void*, void*, uint, nint>)F("plan_guru_dft_r2c");
                api.PlanGuruC2R = (delegate* unmanaged<int, IoDim*, int, IoDim*, void*, void*, uint, nint>)F("plan_guru_dft_c2r");
                api.PlanGuruDft = (delegate* unmanaged<int, IoDim*, int, IoDim*, void*, void*, int, uint, nint>)F("plan_guru_dft");
                api.ExecuteDft = (delegate* unmanaged<nint, void*, void*, void>)F("execute_dft");
            }
            catch (EntryPointNotFoundException e)
            {
                api.LoadError = $"{api.LibraryName}: {e.Message}";
                return api;
            }
            api.Available = true;
            // Threads are optional: a separate library on Debian, built into libfftw3 on some other systems.
            nint tlib = 0;
            foreach (var name in threadNames)
                if (NativeLibrary.TryLoad(name, out tlib)) break;
            foreach (var l in tlib != 0 ? new[] { tlib, lib } : new[] { lib })
            {
                if (NativeLibrary.TryGetExport(l, prefix + "init_threads", out var init) &&
                    NativeLibrary.TryGetExport(l, prefix + "plan_with_nthreads", out var with) &&
                    ((delegate* unmanaged<int>)init)() != 0)
                {
                    api.PlanWithThreads = (delegate* unmanaged<int, void>)with;
                    break;
                }
            }
            return api;
        }

        public static Api Disabled(int realSize, string why) => new() { RealSize = realSize, LoadError = why };
    }

    /// <summary>libfftw3 (double precision).</summary>
    internal static readonly Api Double;

    /// <summary>libfftw3f (single precision).</summary>
    internal static readonly Api Single;

    static FftwNative()
    {
        if (Config.Fft == "managed")
        {
            Double = Api.Disabled(sizeof(double), "NM_FFT=managed");
            Single = Api.Disabled(sizeof(float), "NM_FFT=managed");
            return;
        }
        // Config.FftwLibrary (NM_FFTW_LIBRARY): an explicit file to load instead of the usual names (a missing one
        // disables FFTW); the single-precision library is then the same file name with libfftw3f for libfftw3.
        if (Config.FftwLibrary is { Length: > 0 } explicitName)
        {
            Double = Api.Load("fftw_", sizeof(double), new[] { explicitName }, ThreadLibraryNames);
            var single = explicitName.Contains("libfftw3", StringComparison.Ordinal) && !explicitName.Contains("libfftw3f", StringComparison.Ordinal)
                ? explicitName.Replace("libfftw3", "libfftw3f", StringComparison.Ordinal) : null;
            Single = single != null ? Api.Load("fftwf_", sizeof(float), new[] { single }, SingleThreadLibraryNames)
                : Api.Disabled(sizeof(float), $"NM_FFTW_LIBRARY={explicitName} names no libfftw3 file to derive libfftw3f from");
            return;
        }
        Double = Api.Load("fftw_", sizeof(double), LibraryNames, ThreadLibraryNames);
        Single = Api.Load("fftwf_", sizeof(float), SingleLibraryNames, SingleThreadLibraryNames);
    }

    /// <summary>Whether libfftw3 was found and has the needed entry points.</summary>
    public static bool Available => Double.Available;

    /// <summary>Whether multi-threaded plans are possible (libfftw3_threads found).</summary>
    public static bool HasThreads => Double.HasThreads;

    /// <summary>The file name that was loaded, or null.</summary>
    public static string? LibraryName => Double.LibraryName;

    /// <summary>Why FFTW is not used (null when it is available).</summary>
    public static string? LoadError => Double.LoadError;

    /// <summary>Whether libfftw3f (single precision) was found and has the needed entry points.</summary>
    public static bool SingleAvailable => Single.Available;

    /// <summary>The single-precision file name that was loaded, or null.</summary>
    public static string? SingleLibraryName => Single.LibraryName;

    /// <summary>Why single-precision FFTW is not used (null when it is available).</summary>
    public static string? SingleLoadError => Single.LoadError;
}
