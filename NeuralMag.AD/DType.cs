namespace NeuralMag.AD;

/// <summary>Floating-point precision of a tensor. Upstream NeuralMag's "float64" / "float32".</summary>
public enum DType
{
    /// <summary>IEEE 754 double precision (8 bytes, machine epsilon 2.2e-16).</summary>
    Float64,
    /// <summary>IEEE 754 single precision (4 bytes, machine epsilon 1.2e-7).</summary>
    Float32,
}

/// <summary>Properties of a <see cref="DType"/>: epsilon, name, size, parsing.</summary>
public static class DTypeExtensions
{
    /// <summary>Machine epsilon of the precision (upstream's <c>state.eps</c>).</summary>
    public static double Eps(this DType dtype) => dtype == DType.Float64 ? 2.220446049250313e-16 : 1.1920928955078125e-07;

    /// <summary>"float64" or "float32" (upstream's names).</summary>
    public static string Name(this DType dtype) => dtype == DType.Float64 ? "float64" : "float32";

    /// <summary>Bytes per element: 8 or 4.</summary>
    public static int SizeInBytes(this DType dtype) => dtype == DType.Float64 ? 8 : 4;

    /// <summary>Parses "float64"/"double" or "float32"/"float"/"single" (case-insensitive).</summary>
    public static DType Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "float64" or "double" or "f64" => DType.Float64,
        "float32" or "float" or "single" or "f32" => DType.Float32,
        _ => throw new ArgumentException($"Unknown dtype '{text}'. Use float64 or float32."),
    };
}
