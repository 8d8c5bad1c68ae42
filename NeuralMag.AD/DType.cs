namespace NeuralMag.AD;

/// <summary>Floating-point precision of a tensor. Upstream NeuralMag's "float64" / "float32".</summary>
public enum DType
{
    Float64,
    Float32,
}

public static class DTypeExtensions
{
    /// <summary>Machine epsilon of the precision (upstream's <c>state.eps</c>).</summary>
    public static double Eps(this DType dtype) => dtype == DType.Float64 ? 2.220446049250313e-16 : 1.1920928955078125e-07;

    public static string Name(this DType dtype) => dtype == DType.Float64 ? "float64" : "float32";

    public static int SizeInBytes(this DType dtype) => dtype == DType.Float64 ? 8 : 4;

    /// <summary>Parses "float64"/"double" or "float32"/"float"/"single" (case-insensitive).</summary>
    public static DType Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "float64" or "double" or "f64" => DType.Float64,
        "float32" or "float" or "single" or "f32" => DType.Float32,
        _ => throw new ArgumentException($"Unknown dtype '{text}'. Use float64 or float32."),
    };
}
