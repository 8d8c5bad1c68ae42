namespace NeuralMag.Kernels.Demag;

/// <summary>
/// Demagnetization tensor of two equal cuboid cells at offset (x, y, z) by Newell's formulas (Newell, Williams, Dunlop,
/// J. Geophys. Res. 98, 9551 (1993)): second differences of the auxiliary functions f (diagonal components) and g
/// (off-diagonal) over the cell extents, and a dipole approximation beyond p cell diagonals. N here is the
/// field-from-magnetization tensor, h = N M, so it carries the minus sign (N_xx of the self cell is about -1/3).
/// All evaluated in float64.
/// </summary>
public static class Newell
{
    // A term that is 0·∞ or ∞−∞ at a coordinate plane is taken as its limit 0 (as numpy's nan_to_num does upstream).
    private static double Z(double v) => double.IsFinite(v) ? v : 0.0;

    /// <summary>Newell's f(x, y, z).</summary>
    public static double F(double x, double y, double z)
    {
        x = Math.Abs(x); y = Math.Abs(y); z = Math.Abs(z);
        double x2 = x * x, y2 = y * y, z2 = z * z;
        double r = Math.Sqrt(x2 + y2 + z2);
        double result = 1.0 / 6.0 * (2 * x2 - y2 - z2) * r;
        result += Z(y / 2.0 * (z2 - x2) * Math.Asinh(y / Math.Sqrt(x2 + z2)));
        result += Z(z / 2.0 * (y2 - x2) * Math.Asinh(z / Math.Sqrt(x2 + y2)));
        result -= Z(x * y * z * Math.Atan(y * z / (x * r)));
        return result;
    }

    /// <summary>Newell's g(x, y, z).</summary>
    public static double G(double x, double y, double z)
    {
        z = Math.Abs(z);
        double x2 = x * x, y2 = y * y, z2 = z * z;
        double r = Math.Sqrt(x2 + y2 + z2);
        double result = -x * y * r / 3.0;
        result += Z(x * y * z * Math.Asinh(z / Math.Sqrt(x2 + y2)));
        result += Z(y / 6.0 * (3.0 * z2 - y2) * Math.Asinh(x / Math.Sqrt(y2 + z2)));
        result += Z(x / 6.0 * (3.0 * z2 - x2) * Math.Asinh(y / Math.Sqrt(x2 + z2)));
        result -= Z(z * z2 / 6.0 * Math.Atan(x * y / (z * r)));
        result -= Z(z * y2 / 2.0 * Math.Atan(x * z / (y * r)));
        result -= Z(z * x2 / 2.0 * Math.Atan(y * z / (x * r)));
        return result;
    }

    private static double F1(Func<double, double, double, double> f, double x, double y, double z, double dz) =>
        f(x, y, z + dz) - f(x, y, z) - f(x, y, z - dz + dz) + f(x, y, z - dz);

    private static double F0(Func<double, double, double, double> f, double x, double y, double z, double dy, double dz) =>
        F1(f, x, y + dy, z, dz) - F1(f, x, y, z, dz) - F1(f, x, y - dy + dy, z, dz) + F1(f, x, y - dy, z, dz);

    /// <summary>The sixfold difference of f or g over two cells of size (dx, dy, dz) at offset (x, y, z).</summary>
    public static double Combine(Func<double, double, double, double> f, double x, double y, double z, double dx, double dy, double dz)
    {
        double ret = F0(f, x, y, z, dy, dz) - F0(f, x - dx, y, z, dy, dz) - F0(f, x + dx, y, z, dy, dz) + F0(f, x - dx + dx, y, z, dy, dz);
        return -ret / (4.0 * Math.PI * dx * dy * dz);
    }

    /// <summary>N_xx-type component (f) with the dipole far field beyond p cell diagonals.</summary>
    public static double Nxx(double x, double y, double z, double dx, double dy, double dz, double p)
    {
        double r2 = x * x + y * y + z * z;
        if (r2 / (dx * dx + dy * dy + dz * dz) < p * p) return Combine(F, x, y, z, dx, dy, dz);
        z = z + dz / 2.0 - dz / 2.0; // difference of cell centres (kept literally: equal cells give z up to round-off)
        return (2.0 * x * x - y * y - z * z) * Math.Pow(x * x + y * y + z * z, -2.5) * dx * dy * dz / (4.0 * Math.PI);
    }

    /// <summary>N_xy-type component (g) with the dipole far field beyond p cell diagonals.</summary>
    public static double Nxy(double x, double y, double z, double dx, double dy, double dz, double p)
    {
        double r2 = x * x + y * y + z * z;
        if (r2 / (dx * dx + dy * dy + dz * dz) < p * p) return Combine(G, x, y, z, dx, dy, dz);
        z = z + dz / 2.0 - dz / 2.0;
        return 3.0 * x * y * Math.Pow(x * x + y * y + z * z, -2.5) * dx * dy * dz / (4.0 * Math.PI);
    }
}
