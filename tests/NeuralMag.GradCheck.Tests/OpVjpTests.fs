namespace NeuralMag.GradCheck.Tests

open System
open Microsoft.VisualStudio.TestTools.UnitTesting
open NeuralMag.AD

/// Every primitive's VJP against central finite differences (float64, inputs away from kinks and ties).
[<TestClass>]
type OpVjpTests() =
    static let rng = Random(1234)
    /// Random values in [lo, hi] of the given shape.
    static let rand (shape: int[]) lo hi =
        let n = Array.fold (*) 1 shape
        NTensor.FromArray(Array.init n (fun _ -> lo + (hi - lo) * rng.NextDouble()), shape)

    /// Scalar objective: a fixed random weighting of f's output, so every output entry's VJP is exercised.
    static let check (name: string) (f: NTensor -> NTensor) (x: NTensor) =
        let y0 = f x
        let w = NTensor.FromArray(Array.init y0.Size (fun k -> 0.5 + float ((k * 7919) % 13) / 13.0), y0.GetShape())
        let loss (t: NTensor) = (f t * w).Sum()
        let g = Autodiff.Grad(Func<NTensor, NTensor>(loss)).Invoke(x).ToArray()
        let fd = Oracle.centralDifference loss x 1e-5
        let scale = max 1.0 (fd |> Array.map abs |> Array.max)
        for k in 0 .. fd.Length - 1 do
            let err = abs (g.[k] - fd.[k]) / scale
            Assert.IsTrue(err < 1e-6, sprintf "%s, element %d: tape %.15g, finite difference %.15g, relative error %g" name k g.[k] fd.[k] err)

    static let c = NTensor.FromArray([| 0.7; -1.3; 2.2 |], [| 3 |])

    static member Cases : (string * (NTensor -> NTensor) * (unit -> NTensor)) list =
        let pos () = rand [| 2; 3 |] 0.5 2.0
        let any () = rand [| 2; 3 |] -2.0 2.0
        [ "add broadcast", (fun t -> t + c), any
          "sub broadcast", (fun t -> c - t), any
          "mul broadcast", (fun t -> t * c), any
          "div", (fun t -> c / t), pos
          "div numerator", (fun t -> t / c), any
          "add scalar", (fun t -> 3.0 + t), any
          "rsub scalar", (fun t -> 3.0 - t), any
          "mul scalar", (fun t -> t * 2.5), any
          "rdiv scalar", (fun t -> 2.0 / t), pos
          "neg", (fun t -> -t), any
          "pow scalar", (fun t -> t.Pow(2.7)), pos
          "pow tensor", (fun t -> NTensor.Pow(t, t)), pos
          "pow base constant", (fun t -> NTensor.Pow(c.Abs() + 1.0, t)), any
          "square", (fun t -> t.Square()), any
          "sqrt", (fun t -> t.Sqrt()), pos
          "exp", (fun t -> t.Exp()), any
          "log", (fun t -> t.Log()), pos
          "sin", (fun t -> t.Sin()), any
          "cos", (fun t -> t.Cos()), any
          "tan", (fun t -> t.Tan()), (fun () -> rand [| 2; 3 |] -1.0 1.0)
          "tanh", (fun t -> t.Tanh()), any
          "abs", (fun t -> t.Abs()), pos
          "abs negative", (fun t -> (-t).Abs()), pos
          "reciprocal", (fun t -> t.Reciprocal()), pos
          "where", (fun t -> NTensor.Where(NTensor.FromArray([| 1.0; 0.0; 1.0 |]), t, t.Square())), any
          "clamp", (fun t -> t.Clamp(-1.0, 1.0)), (fun () -> NTensor.FromArray([| -1.7; -0.4; 0.3; 0.9; 1.5; 2.0 |], [| 2; 3 |]))
          "maximum", (fun t -> NTensor.Maximum(t, c)), (fun () -> NTensor.FromArray([| 1.2; -1.0; 1.0; 0.3; -2.0; 2.9 |], [| 2; 3 |]))
          "minimum", (fun t -> NTensor.Minimum(t, c)), (fun () -> NTensor.FromArray([| 1.2; -1.0; 1.0; 0.3; -2.0; 2.9 |], [| 2; 3 |]))
          "maximum scalar", (fun t -> t.Maximum(0.1)), (fun () -> NTensor.FromArray([| 1.2; -1.0; 1.0; 0.3; -2.0; 2.9 |], [| 2; 3 |]))
          "sum all", (fun t -> t.Sum()), any
          "sum axis 0", (fun t -> t.Sum(0)), any
          "sum axis -1 keep", (fun t -> t.Sum(-1, true)), any
          "mean", (fun t -> t.Mean(1)), any
          "max all", (fun t -> t.Max()), any
          "max axis", (fun t -> t.Max(1)), any
          "min axis", (fun t -> t.Min(0)), any
          "dot", (fun t -> NTensor.Dot(t, t.Sin())), any
          "dot broadcast", (fun t -> NTensor.Dot(t, c)), any
          "cross", (fun t -> NTensor.Cross(t, t.Cos())), any
          "cross broadcast", (fun t -> NTensor.Cross(c, t)), any
          "cross pair, per-vector and per-component coefficients", (fun t -> NTensor.CrossPair(t, t.Cos(), t.Sum(-1, true), t.Sin())), any
          "cross pair, scalar coefficients, broadcast b", (fun t -> NTensor.CrossPair(t, c, t.Sum(), t.[0, 0])), any
          "linear combination", (fun t -> NTensor.LinearCombination([| t; t.Sin(); t.Square() |], [| 1.0; -0.5; 2.0 |])), any
          "norm axis", (fun t -> t.Norm(-1)), any
          "norm", (fun t -> t.Norm()), any
          "index element", (fun t -> t.[1, -1] * t.[0, 0]), any
          "index slice step", (fun t -> t.[Ix.All, Ix.Slice(-3, System.Nullable(), 2)]), any
          "slice", (fun t -> t.Slice(1, 1, 3)), any
          "index put", (fun t -> t.IndexPut([| Ix.op_Implicit 1 |], t.[0].Exp())), any
          "reshape", (fun t -> t.Reshape(3, 2) * NTensor.FromArray([| 1.0; 2.0 |])), any
          "expand", (fun t -> t.Reshape(1, 6).Expand(4, 6)), any
          "unsqueeze squeeze", (fun t -> t.Unsqueeze(0).Squeeze(0).Sin()), any
          "permute", (fun t -> t.Permute(1, 0) * c.Reshape(3, 1)), any
          "concat", (fun t -> NTensor.Concat(1, t, t.Square())), any
          "stack", (fun t -> NTensor.Stack(0, t, t.Exp())), any
          "sum to shape", (fun t -> t.SumToShape([| 1; 3 |])), any
          "cast", (fun t -> t.Cast(DType.Float32).Cast(DType.Float64).Square()), (fun () -> NTensor.FromArray([| 0.5; 0.25; 1.0; 2.0; -0.75; 1.5 |], [| 2; 3 |])) ]

    [<TestMethod>]
    member _.``every op's VJP matches central finite differences``() =
        for (name, f, x) in OpVjpTests.Cases do
            if name <> "cast" then check name f (x ())

    [<TestMethod>]
    member _.``cast VJP passes the gradient through``() =
        // Values are exact in float32, so the float32 round trip is the identity on them; the gradient must be 2x.
        let name, f, x = OpVjpTests.Cases |> List.find (fun (n, _, _) -> n = "cast")
        let x = x ()
        let g = Autodiff.Grad(Func<NTensor, NTensor>(fun t -> (f t).Sum())).Invoke(x).ToArray()
        let xs = x.ToArray()
        for k in 0 .. xs.Length - 1 do Assert.AreEqual(2.0 * xs.[k], g.[k], 1e-6, name)
