using NeuralMag.AD;

namespace NeuralMag.Kernels.FieldTerms;

/// <summary>
/// The raw gradient ∇E(m) = Km + b of a quadratic density's element operators (<see cref="QuadraticElementOperator"/>)
/// for nodal m on the CPU device, through the assembler's colour-group loop (<see cref="ElementAssembler.AssembleQuadratic{T}(QuadraticElementOperator, T[], T[], T[], T[])"/>)
/// in m's precision (float32 reads rho rounded once): the CPU twin of <see cref="DeviceElementOperator"/> with unit scale.
/// </summary>
public sealed class CpuElementGradient : INodalGradient
{
    private readonly ElementAssembler _asm;
    private readonly QuadraticElementOperator _op;
    private readonly double[] _rho;
    private float[]? _rhoSingle;

    /// <param name="asm">The assembler the operator was built with (grid and Gauss rule).</param>
    /// <param name="op">The element operators.</param>
    /// <param name="rho">Density per cell.</param>
    public CpuElementGradient(ElementAssembler asm, QuadraticElementOperator op, double[] rho)
    {
        _asm = asm ?? throw new ArgumentNullException(nameof(asm));
        _op = op ?? throw new ArgumentNullException(nameof(op));
        _rho = rho ?? throw new ArgumentNullException(nameof(rho));
        if (rho.Length != asm.Geometry.NumCells) throw new ArgumentException($"rho has {rho.Length} values, expected {asm.Geometry.NumCells} (cells).", nameof(rho));
    }

    /// <inheritdoc/>
    public NTensor Apply(NTensor m)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (m.Storage is not CpuStorage s) throw new ArgumentException($"m is on '{m.Device}'; this operator runs on the CPU.", nameof(m));
        if (s.F64 is { } d)
        {
            var g = new double[d.Length];
            _asm.AssembleQuadratic(_op, d, _rho, g, null);
            return new NTensor(new CpuStorage(g), m.GetShape());
        }
        var f = s.F32!;
        var gf = new float[f.Length];
        _asm.AssembleQuadratic(_op, f, _rhoSingle ??= Array.ConvertAll(_rho, v => (float)v), gf, null);
        return new NTensor(new CpuStorage(gf), m.GetShape());
    }

    /// <summary>Nothing to free (host arrays).</summary>
    public void Dispose() { }
}
