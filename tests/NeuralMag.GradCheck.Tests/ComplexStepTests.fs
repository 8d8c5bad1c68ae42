namespace NeuralMag.GradCheck.Tests

open System
open System.Numerics
open Microsoft.VisualStudio.TestTools.UnitTesting
open NeuralMag.AD

/// Random expression trees over vectors of length n, one leaf variable x plus constants.
type Expr =
    | X
    | Const of float[]
    | Un of string * Expr
    | Bin of string * Expr * Expr

/// A tiny reference evaluator over System.Numerics.Complex arrays, written independently of NTensor: f(x + i h e_k)
/// has imaginary part h df/dx_k + O(h^3), exact to round-off for h = 1e-20 (complex-step derivative).
module ComplexRef =
    let unary op (z: Complex) =
        match op with
        | "sin" -> Complex.Sin z
        | "cos" -> Complex.Cos z
        | "exp" -> Complex.Exp(0.3 * z)
        | "logsq" -> Complex.Log(z * z + Complex.One)
        | "sqrtsq" -> Complex.Sqrt(z * z + Complex.One)
        | "square" -> z * z
        | "tanh" -> Complex.Tanh z
        | "scale" -> z * Complex(1.7, 0.0)
        | "shift" -> z + Complex(0.4, 0.0)
        | "pow" -> Complex.Exp(1.5 * Complex.Log(z * z + Complex.One))
        | "neg" -> -z
        | _ -> failwithf "unknown unary %s" op

    let binary op (a: Complex) (b: Complex) =
        match op with
        | "add" -> a + b
        | "sub" -> a - b
        | "mul" -> a * b
        | "div" -> a / (b * b + Complex.One)
        | _ -> failwithf "unknown binary %s" op

    let rec eval (x: Complex[]) e =
        match e with
        | X -> x
        | Const c -> c |> Array.map (fun v -> Complex(v, 0.0))
        | Un (op, a) -> eval x a |> Array.map (unary op)
        | Bin (op, a, b) -> Array.map2 (binary op) (eval x a) (eval x b)

    /// Loss = sum of the tree's output; gradient entry k by the complex step.
    let gradient (e: Expr) (x: float[]) =
        let h = 1e-20
        Array.init x.Length (fun k ->
            let z = x |> Array.mapi (fun j v -> Complex(v, (if j = k then h else 0.0)))
            (eval z e |> Array.sumBy (fun c -> c.Imaginary)) / h)

/// The same tree evaluated with NTensor operations (recorded by the tape).
module TensorEval =
    let unary op (t: NTensor) =
        match op with
        | "sin" -> t.Sin()
        | "cos" -> t.Cos()
        | "exp" -> (t * 0.3).Exp()
        | "logsq" -> (t.Square() + 1.0).Log()
        | "sqrtsq" -> (t * t + 1.0).Sqrt()
        | "square" -> t.Square()
        | "tanh" -> t.Tanh()
        | "scale" -> 1.7 * t
        | "shift" -> t + 0.4
        | "pow" -> (t.Pow(2.0) + 1.0).Pow(1.5)
        | "neg" -> -t
        | _ -> failwithf "unknown unary %s" op

    let binary op (a: NTensor) (b: NTensor) =
        match op with
        | "add" -> a + b
        | "sub" -> a - b
        | "mul" -> a * b
        | "div" -> a / (b.Square() + 1.0)
        | _ -> failwithf "unknown binary %s" op

    let rec eval (x: NTensor) e =
        match e with
        | X -> x
        | Const c -> NTensor.FromArray(c)
        | Un (op, a) -> unary op (eval x a)
        | Bin (op, a, b) -> binary op (eval x a) (eval x b)

[<TestClass>]
type ComplexStepTests() =
    static let unaries = [| "sin"; "cos"; "exp"; "logsq"; "sqrtsq"; "square"; "tanh"; "scale"; "shift"; "pow"; "neg" |]
    static let binaries = [| "add"; "sub"; "mul"; "div" |]

    static let rec randomTree (rng: Random) n depth =
        if depth = 0 || rng.NextDouble() < 0.15 then
            if rng.NextDouble() < 0.8 then X else Const(Array.init n (fun _ -> rng.NextDouble() * 2.0 - 1.0))
        elif rng.NextDouble() < 0.5 then Un(unaries.[rng.Next unaries.Length], randomTree rng n (depth - 1))
        else Bin(binaries.[rng.Next binaries.Length], randomTree rng n (depth - 1), randomTree rng n (depth - 1))

    [<TestMethod>]
    member _.``tape gradients of random compositions match complex-step derivatives to 1e-12``() =
        let rng = Random(20261125)
        let n = 5
        let mutable checkedTrees = 0
        for trial in 1 .. 200 do
            let e = randomTree rng n 6
            let x = Array.init n (fun _ -> rng.NextDouble() * 2.0 - 1.0)
            let reference = ComplexRef.gradient e x
            let f = Func<NTensor, NTensor>(fun t -> (TensorEval.eval t e + NTensor.ZerosLike t).Sum())
            let g = Autodiff.Grad(f).Invoke(NTensor.FromArray(x)).ToArray()
            let scale = max 1e-3 (reference |> Array.map abs |> Array.max)
            if scale < 1e8 then
                checkedTrees <- checkedTrees + 1
                for k in 0 .. n - 1 do
                    let err = abs (g.[k] - reference.[k]) / scale
                    Assert.IsTrue(err < 1e-12, sprintf "trial %d, %A, entry %d: tape %.17g, complex step %.17g, error %g" trial e k g.[k] reference.[k] err)
        Assert.IsTrue(checkedTrees > 150, sprintf "only %d trees were checked" checkedTrees)
