using NeuralMag.AD;

namespace NeuralMag.Tests.State;

/// <summary>Upstream's unit-test fixture: 2x2x2 cells of 1 nm, a fixed m and Ms = 1/μ0.</summary>
internal static class StateFixture
{
    public const double Mu0 = 1.25663706212e-6;

    public static NeuralMag.State Create()
    {
        var state = new NeuralMag.State(new Mesh(new[] { 2, 2, 2 }, new[] { 1e-9, 1e-9, 1e-9 }));
        var m = new double[3, 3, 3, 3];
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++)
            {
                m[0, j, k, 0] = -1;
                m[1, j, k, 1] = 1;
                m[2, j, k, 0] = 1;
            }
        for (int c = 0; c < 3; c++) m[1, 0, 0, c] = 0;
        m[1, 0, 0, 0] = 1;
        state["m"] = new VectorFunction(state, tensor: state.Tensor(m));
        state.Material["Ms"] = 1 / Mu0;
        return state;
    }

    public static double V(object value) => value switch
    {
        NTensor t => t.Item(),
        Function f => f.Tensor.Item(),
        _ => throw new InvalidCastException(value.GetType().Name),
    };
}
