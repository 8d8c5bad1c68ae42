namespace NeuralMag.Kernels;

/// <summary>
/// 7-point Laplacian of a scalar field on an nx × ny × nz grid (row-major, z fastest), with zero-gradient (mirror)
/// boundaries: Δu_i = Σ_axes (u_{i+e} - 2 u_i + u_{i-e}) / dx², a missing neighbour replaced by u_i.
/// Written once as an <see cref="IKernelBody"/>; the demonstration of <see cref="Launcher"/>.
/// </summary>
public struct Laplacian7 : IKernelBody
{
    /// <summary>Grid points per axis.</summary>
    public int Nx, Ny, Nz;
    /// <summary>1/dx², 1/dy², 1/dz² in 1/m².</summary>
    public double Cx, Cy, Cz;

    /// <summary>The Laplacian on an <paramref name="nx"/> × <paramref name="ny"/> × <paramref name="nz"/> grid of spacing dx, dy, dz (m).</summary>
    public Laplacian7(int nx, int ny, int nz, double dx, double dy, double dz)
    {
        Nx = nx; Ny = ny; Nz = nz;
        Cx = 1 / (dx * dx); Cy = 1 / (dy * dy); Cz = 1 / (dz * dz);
    }

    /// <inheritdoc/>
    public readonly void Execute<TField>(int i, TField u, TField o) where TField : struct, IField
    {
        int k = i % Nz, j = i / Nz % Ny, l = i / (Nz * Ny);
        double c = u[i];
        double xm = l > 0 ? u[i - Ny * Nz] : c, xp = l < Nx - 1 ? u[i + Ny * Nz] : c;
        double ym = j > 0 ? u[i - Nz] : c, yp = j < Ny - 1 ? u[i + Nz] : c;
        double zm = k > 0 ? u[i - 1] : c, zp = k < Nz - 1 ? u[i + 1] : c;
        o[i] = Cx * (xm - 2 * c + xp) + Cy * (ym - 2 * c + yp) + Cz * (zm - 2 * c + zp);
    }
}
