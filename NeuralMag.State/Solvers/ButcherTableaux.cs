namespace NeuralMag;

/// <summary>The implicit and implicit–explicit (IMEX) Runge–Kutta methods of <see cref="ImplicitRungeKutta"/> (upstream's diffrax solver types).</summary>
public enum ImplicitMethod
{
    /// <summary>Kværnø's ESDIRK 3(2), 4 stages, A- and L-stable, stiffly accurate (BIT 44 (2004) 489); the whole right-hand side implicit.</summary>
    Kvaerno3,
    /// <summary>Kværnø's ESDIRK 5(4), 7 stages, A- and L-stable, stiffly accurate (BIT 44 (2004) 489); the whole right-hand side implicit.</summary>
    Kvaerno5,
    /// <summary>Kennedy and Carpenter's ARK3(2)4L[2]SA (Appl. Numer. Math. 44 (2003) 139): the implicit part by its L-stable ESDIRK, the explicit part by its ERK.</summary>
    KenCarp3,
    /// <summary>Kennedy and Carpenter's ARK5(4)8L[2]SA (Appl. Numer. Math. 44 (2003) 139): 8 stages, implicit part L-stable ESDIRK, explicit part ERK.</summary>
    KenCarp5,
}

/// <summary>
/// An additive Runge–Kutta tableau with an explicit first stage and one diagonal entry γ (ESDIRK): the stage values
/// z_i = y + h Σ_{j&lt;i} (a^E_ij k^E_j + a^I_ij k^I_j) + h γ k^I_i (γ = 0 for i = 1), y1 = y + h Σ b_j (k^E_j + k^I_j),
/// the embedded solution with b̂ in place of b, k^E_j = f_E(t + c_j h, z_j), k^I_j = f_I(t + c_j h, z_j). A method with
/// only an implicit part has <see cref="ExplicitA"/> null (k^E = 0). Both parts share b and c.
/// </summary>
internal sealed class AdditiveTableau
{
    public AdditiveTableau(ImplicitMethod method, int order, int embeddedOrder, double gamma, double[] c, double[][]? explicitA, double[][] implicitA, double[] b, double[] bHat)
    {
        Method = method; Order = order; EmbeddedOrder = embeddedOrder; Gamma = gamma; C = c; ExplicitA = explicitA; ImplicitA = implicitA; B = b; BHat = bHat;
    }

    public ImplicitMethod Method { get; }
    public int Order { get; }
    public int EmbeddedOrder { get; }
    /// <summary>The diagonal entry of the implicit stages 2..s.</summary>
    public double Gamma { get; }
    /// <summary>Stage times c_1 = 0 .. c_s.</summary>
    public double[] C { get; }
    /// <summary>Strictly lower rows a^E_ij (j &lt; i) of the explicit part; row 0 empty. Null: no explicit part.</summary>
    public double[][]? ExplicitA { get; }
    /// <summary>Strictly lower rows a^I_ij (j &lt; i) of the implicit part (the diagonal is γ); row 0 empty.</summary>
    public double[][] ImplicitA { get; }
    public double[] B { get; }
    public double[] BHat { get; }
    public int Stages => C.Length;

    public static AdditiveTableau For(ImplicitMethod method) => method switch
    {
        ImplicitMethod.Kvaerno3 => Kvaerno3,
        ImplicitMethod.Kvaerno5 => Kvaerno5,
        ImplicitMethod.KenCarp3 => KenCarp3,
        ImplicitMethod.KenCarp5 => KenCarp5,
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown implicit method; use Kvaerno3, Kvaerno5, KenCarp3 or KenCarp5."),
    };

    // Kværnø, BIT 44 (2004) 489, the 3(2) pair: γ is the root of 6γ³ − 18γ² + 9γ − 1 = 0 near 0.4359 (L-stability),
    // all other coefficients are functions of γ; stage 3 is the embedded order-2 solution, stage 4 the order-3 one.
    private static readonly double G3 = KvaernoGamma();
    private static double KvaernoGamma()
    {
        double g = 0.4358665215;
        for (int i = 0; i < 5; i++) g -= (((6 * g - 18) * g + 9) * g - 1) / ((18 * g - 36) * g + 9);
        return g;
    }

    private static readonly AdditiveTableau Kvaerno3 = MakeKvaerno3();
    private static AdditiveTableau MakeKvaerno3()
    {
        double g = G3;
        double a31 = (-4 * g * g + 6 * g - 1) / (4 * g), a32 = (-2 * g + 1) / (4 * g);
        double a41 = (6 * g - 1) / (12 * g), a42 = -1 / ((24 * g - 12) * g), a43 = (-6 * g * g + 6 * g - 1) / (6 * g - 3);
        return new AdditiveTableau(ImplicitMethod.Kvaerno3, 3, 2, g, new[] { 0, 2 * g, 1, 1 }, null,
            new[] { Array.Empty<double>(), new[] { g }, new[] { a31, a32 }, new[] { a41, a42, a43 } },
            new[] { a41, a42, a43, g }, new[] { a31, a32, g, 0 });
    }

    // Kværnø, BIT 44 (2004) 489, the 5(4) pair with γ = 0.26: stage 6 is the embedded order-4 solution, stage 7 the order-5 one.
    private static readonly AdditiveTableau Kvaerno5 = new(ImplicitMethod.Kvaerno5, 5, 4, 0.26,
        new[] { 0, 0.52, 1.230333209967908, 0.8957659843500759, 0.43639360985864756, 1.0, 1.0 }, null,
        new[]
        {
            Array.Empty<double>(),
            new[] { 0.26 },
            new[] { 0.13, 0.84033320996790809 },
            new[] { 0.22371961478320505, 0.47675532319799699, -0.06470895363112615 },
            new[] { 0.16648564323248321, 0.10450018841591720, 0.03631482272098715, -0.13090704451073998 },
            new[] { 0.13855640231268224, 0, -0.04245337201752043, 0.02446657898003141, 0.61943039072480676 },
            new[] { 0.13659751177640291, 0, -0.05496908796538376, -0.04118626728321046, 0.62993304899016403, 0.06962479448202728 },
        },
        new[] { 0.13659751177640291, 0, -0.05496908796538376, -0.04118626728321046, 0.62993304899016403, 0.06962479448202728, 0.26 },
        new[] { 0.13855640231268224, 0, -0.04245337201752043, 0.02446657898003141, 0.61943039072480676, 0.26, 0 });

    // Kennedy & Carpenter, Appl. Numer. Math. 44 (2003) 139, ARK3(2)4L[2]SA (their Table 3 coefficients as rationals).
    private static readonly AdditiveTableau KenCarp3 = MakeKenCarp3();
    private static AdditiveTableau MakeKenCarp3()
    {
        double g = 1767732205903.0 / 4055673282236;
        var b = new[] { 1471266399579.0 / 7840856788654, -4482444167858.0 / 7529755066697, 11266239266428.0 / 11593286722821, g };
        var bHat = new[] { 2756255671327.0 / 12835298489170, -10771552573575.0 / 22201958757719, 9247589265047.0 / 10645013368117, 2193209047091.0 / 5459859503100 };
        return new AdditiveTableau(ImplicitMethod.KenCarp3, 3, 2, g, new[] { 0, 2 * g, 3.0 / 5, 1 },
            new[]
            {
                Array.Empty<double>(),
                new[] { 2 * g },
                new[] { 5535828885825.0 / 10492691773637, 788022342437.0 / 10882634858940 },
                new[] { 6485989280629.0 / 16251701735622, -4246266847089.0 / 9704473918619, 10755448449292.0 / 10357097424841 },
            },
            new[]
            {
                Array.Empty<double>(),
                new[] { g },
                new[] { 2746238789719.0 / 10658868560708, -640167445237.0 / 6845629431997 },
                new[] { b[0], b[1], b[2] },
            },
            b, bHat);
    }

    // Kennedy & Carpenter, Appl. Numer. Math. 44 (2003) 139, ARK5(4)8L[2]SA (their Table 6 coefficients as rationals), γ = 41/200.
    private static readonly AdditiveTableau KenCarp5 = MakeKenCarp5();
    private static AdditiveTableau MakeKenCarp5()
    {
        double g = 41.0 / 200;
        var b = new[] { -872700587467.0 / 9133579230613, 0, 0, 22348218063261.0 / 9555858737531, -1143369518992.0 / 8141816002931,
            -39379526789629.0 / 19018526304540, 32727382324388.0 / 42900044865799, g };
        var bHat = new[] { -975461918565.0 / 9796059967033, 0, 0, 78070527104295.0 / 32432590147079, -548382580838.0 / 3424219808633,
            -33438840321285.0 / 15594753105479, 3629800801594.0 / 4656183773603, 4035322873751.0 / 18575991585200 };
        var c = new[] { 0, 41.0 / 100, 2935347310677.0 / 11292855782101, 1426016391358.0 / 7196633302097, 92.0 / 100, 24.0 / 100, 3.0 / 5, 1.0 };
        var ae = new[]
        {
            Array.Empty<double>(),
            new[] { 41.0 / 100 },
            new[] { 367902744464.0 / 2072280473677, 677623207551.0 / 8224143866563 },
            new[] { 1268023523408.0 / 10340822734521, 0, 1029933939417.0 / 13636558850479 },
            new[] { 14463281900351.0 / 6315353703477, 0, 66114435211212.0 / 5879490589093, -54053170152839.0 / 4284798021562 },
            new[] { 14090043504691.0 / 34967701212078, 0, 15191511035443.0 / 11219624916014, -18461159152457.0 / 12425892160975, -281667163811.0 / 9011619295870 },
            new[] { 19230459214898.0 / 13134317526959, 0, 21275331358303.0 / 2942455364971, -38145345988419.0 / 4862620318723, -1.0 / 8, -1.0 / 8 },
            new[] { -19977161125411.0 / 11928030595625, 0, -40795976796054.0 / 6384907823539, 177454434618887.0 / 12078138498510,
                782672205425.0 / 8267701900261, -69563011059811.0 / 9646580694205, 7356628210526.0 / 4942186776405 },
        };
        var ai = new[]
        {
            Array.Empty<double>(),
            new[] { g },
            new[] { 41.0 / 400, -567603406766.0 / 11931857230679 },
            new[] { 683785636431.0 / 9252920307686, 0, -110385047103.0 / 1367015193373 },
            new[] { 3016520224154.0 / 10081342136671, 0, 30586259806659.0 / 12414158314087, -22760509404356.0 / 11113319521817 },
            new[] { 218866479029.0 / 1489978393911, 0, 638256894668.0 / 5436446318841, -1179710474555.0 / 5321154724896, -60928119172.0 / 8023461067671 },
            new[] { 1020004230633.0 / 5715676835656, 0, 25762820946817.0 / 25263940353407, -2161375909145.0 / 9755907335909,
                -211217309593.0 / 5846859502534, -4269925059573.0 / 7827059040719 },
            b[..7],
        };
        return new AdditiveTableau(ImplicitMethod.KenCarp5, 5, 4, g, c, ae, ai, b, bHat);
    }
}
