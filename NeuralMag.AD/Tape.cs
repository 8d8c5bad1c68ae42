namespace NeuralMag.AD;

/// <summary>
/// Reverse-mode automatic differentiation by a tape. While a tape is active on a thread, every operation whose inputs
/// include a tensor watched by that tape appends a node holding its vector-Jacobian product (VJP); all other
/// operations run exactly as without a tape. <see cref="Gradient"/> walks the nodes backwards, releasing each node's
/// saved tensors as soon as it has been processed.
/// </summary>
/// <remarks>
/// Tapes nest: an inner tape sees tensors of an outer tape as constants (adjoint solvers take the VJP of a
/// right-hand side on an inner tape inside the outer backward pass). Gradients of gradients are not supported: the
/// backward pass itself is not recorded, so an enclosing tape would see an inner gradient as a constant and its
/// derivative would silently be 0. So when an inner tape's computation read a tensor tracked by an enclosing tape that
/// is still recording, the gradients it returns carry a marker on that enclosing tape: using them in a value that the
/// enclosing tape is later differentiated through throws <see cref="NotSupportedException"/> from its
/// <see cref="Gradient"/>; using them as constants (or not at all) is fine.
/// </remarks>
public sealed class Tape : IDisposable
{
    [ThreadStatic] private static Tape? _current;

    private readonly Tape? _outer;
    private readonly List<Node> _nodes = new();
    private bool _disposed;
    private bool _used;
    // An enclosing tape whose tracked tensors this tape's computation read (the higher-order-gradient case).
    private Tape? _readsFrom;

    /// <summary>Starts recording on the current thread until disposed.</summary>
    public Tape()
    {
        _outer = _current;
        _current = this;
    }

    /// <summary>The innermost active tape of this thread, or null.</summary>
    public static Tape? Current => _current;

    /// <summary>Number of recorded operations (leaves included).</summary>
    public int Count => _nodes.Count;

    internal sealed class Node
    {
        public Node(int id, Tape tape, NTensor[]? inputs, Func<NTensor, NTensor?[]>? vjp)
        {
            Id = id;
            Tape = tape;
            Inputs = inputs;
            Vjp = vjp;
        }

        public readonly int Id;
        public readonly Tape Tape;
        public NTensor[]? Inputs;
        public Func<NTensor, NTensor?[]>? Vjp;
    }

    /// <summary>Marks a tensor as an input to differentiate with respect to; returns a tracked alias of it.</summary>
    public NTensor Watch(NTensor x)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(x);
        if (x.Node != null && x.Node.Tape != this) NoteForeign(x.Node.Tape);
        var alias = NTensor.Alias(x);
        alias.Node = new Node(_nodes.Count, this, null, null);
        _nodes.Add(alias.Node);
        return alias;
    }

    /// <summary>True when the tape of this thread would record an operation on these inputs.</summary>
    public static bool IsRecording(NTensor a)
    {
        var current = _current;
        if (current == null || a.Node is not { } node) return false;
        if (node.Tape == current) return true;
        current.NoteForeign(node.Tape);
        return false;
    }

    /// <summary>True when the tape of this thread would record an operation on either input.</summary>
    public static bool IsRecording(NTensor a, NTensor b) => IsRecording(a) | IsRecording(b);

    /// <summary>True when the tape of this thread would record an operation on any of the inputs.</summary>
    public static bool IsRecording(ReadOnlySpan<NTensor> inputs)
    {
        if (_current == null) return false;
        bool any = false;
        foreach (var t in inputs) any |= IsRecording(t);
        return any;
    }

    /// <summary>True when the tape of this thread would record an operation on inputs[<paramref name="index"/>] and on no
    /// other input (an operator whose VJP is written for that input alone can then take its fast path).</summary>
    public static bool IsRecordingOnly(ReadOnlySpan<NTensor> inputs, int index)
    {
        if (_current == null) return false;
        for (int i = 0; i < inputs.Length; i++)
            if (i != index && IsRecording(inputs[i])) return false;
        return IsRecording(inputs[index]);
    }

    /// <summary>The gradients of a VJP that reaches inputs[<paramref name="index"/>] alone: <paramref name="gradient"/>
    /// there, null for the other <paramref name="inputs"/> − 1 inputs (the fast paths of <see cref="IsRecordingOnly"/>).</summary>
    public static NTensor?[] GradientOfOnly(int inputs, int index, NTensor gradient)
    {
        var grads = new NTensor?[inputs];
        grads[index] = gradient;
        return grads;
    }

    /// <summary>Remembers that this tape's computation read a tensor of <paramref name="other"/> if that tape encloses it.</summary>
    private void NoteForeign(Tape other)
    {
        if (_readsFrom != null) return;
        for (var o = _outer; o != null; o = o._outer)
            if (o == other)
            {
                _readsFrom = other;
                return;
            }
    }

    /// <summary>True when <paramref name="tape"/> is the current tape of this thread or encloses it.</summary>
    private static bool IsActive(Tape tape)
    {
        for (var o = _current; o != null; o = o._outer)
            if (o == tape) return true;
        return false;
    }

    /// <summary>
    /// Records <paramref name="output"/> as computed from <paramref name="inputs"/>; <paramref name="vjp"/> maps the
    /// gradient of the output to one gradient per input (null where an input gets none). A no-op when no input is
    /// tracked by the current tape. This is how custom kernels (stencils, FFT convolutions) join the tape.
    /// </summary>
    public static NTensor Record(NTensor output, NTensor[] inputs, Func<NTensor, NTensor?[]> vjp)
    {
        var tape = _current;
        if (tape == null || !IsRecording(inputs)) return output;
        if (output.Node != null) output = NTensor.Alias(output);
        output.Node = new Node(tape._nodes.Count, tape, inputs, vjp);
        tape._nodes.Add(output.Node);
        return output;
    }

    /// <summary>
    /// Gradient of <paramref name="output"/> with respect to each of <paramref name="wrt"/> (tensors returned by
    /// <see cref="Watch"/>), seeded with <paramref name="seed"/> (default: ones, i.e. d sum(output)). A tensor that
    /// does not influence the output gets zeros. Can be called once per tape: it releases the recorded data.
    /// </summary>
    public NTensor[] Gradient(NTensor output, NTensor[] wrt, NTensor? seed = null)
    {
        if (_used) throw new InvalidOperationException("Tape.Gradient was already called on this tape; record again to take another gradient.");
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(wrt);
        for (int k = 0; k < wrt.Length; k++)
            if (wrt[k]?.Node is not { } wn || wn.Tape != this)
                throw new ArgumentException($"Argument {k} of Gradient is not watched by this tape; pass the tensor returned by Tape.Watch.", nameof(wrt));
        if (seed != null && !Shapes.Equal(seed.ShapeArray, output.ShapeArray))
            throw new ArgumentException($"The seed of shape {Shapes.Format(seed.ShapeArray)} does not match the output of shape {Shapes.Format(output.ShapeArray)}.", nameof(seed));
        _used = true;
        seed ??= NTensor.OnesLike(output);
        var grads = new NTensor?[_nodes.Count];
        if (output.Node?.Tape == this) grads[output.Node.Id] = seed;

        // The backward pass is not recorded: suspend this tape (and any outer one) while it runs.
        var saved = _current;
        _current = null;
        try
        {
            int start = output.Node?.Tape == this ? output.Node.Id : -1;
            for (int i = start; i >= 0; i--)
            {
                var node = _nodes[i];
                var g = grads[i];
                if (g == null || node.Vjp == null) continue;
                var inGrads = node.Vjp(g);
                var inputs = node.Inputs!;
                for (int k = 0; k < inputs.Length; k++)
                {
                    var n = inputs[k].Node;
                    if (n == null || n.Tape != this || inGrads[k] is not { } gk) continue;
                    gk = gk.SumToShape(inputs[k].ShapeArray);
                    grads[n.Id] = grads[n.Id] is { } acc ? acc + gk : gk;
                }
                // Release everything this node kept alive for the backward pass.
                node.Vjp = null;
                node.Inputs = null;
                grads[i] = null;
            }
        }
        finally
        {
            _current = saved;
        }

        var result = new NTensor[wrt.Length];
        for (int k = 0; k < wrt.Length; k++)
        {
            var n = wrt[k].Node;
            if (n == null || n.Tape != this)
                throw new ArgumentException($"Argument {k} of Gradient is not watched by this tape; pass the tensor returned by Tape.Watch.");
            result[k] = grads[n.Id] ?? NTensor.ZerosLike(wrt[k]);
            if (_readsFrom != null && IsActive(_readsFrom)) result[k] = MarkSecondOrder(result[k], _readsFrom);
        }
        _nodes.Clear();
        return result;
    }

    /// <summary>
    /// An alias of an inner gradient recorded on the enclosing tape <paramref name="outer"/> as an operation whose VJP
    /// throws: the enclosing tape's backward pass reaches it only when its output depends on this gradient, i.e. when a
    /// gradient of a gradient is asked for.
    /// </summary>
    private static NTensor MarkSecondOrder(NTensor gradient, Tape outer)
    {
        var marked = NTensor.Alias(gradient);
        marked.Node = new Node(outer._nodes.Count, outer, Array.Empty<NTensor>(), _ => throw new NotSupportedException(
            "Tape.Gradient: the output depends on a gradient that an inner tape computed from tensors this tape tracks. Gradients of " +
            "gradients (higher-order derivatives, e.g. Autodiff.Grad(Autodiff.Grad(f))) are not supported: the backward pass is not " +
            "recorded, so the derivative would silently be 0. Take finite differences of the gradient instead."));
        outer._nodes.Add(marked.Node);
        return marked;
    }

    private void ThrowIfDisposed()
    {
        if (_disposed) throw new ObjectDisposedException(nameof(Tape));
    }

    /// <summary>
    /// Stops recording; the tape must be the innermost active one. The recorded nodes stay until
    /// <see cref="Gradient"/> has run (or the tape is collected), so a gradient may still be taken afterwards.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (_current != this) throw new InvalidOperationException("Tapes must be disposed in reverse order of creation.");
        _current = _outer;
        _disposed = true;
    }

    /// <summary>Runs <paramref name="action"/> with no tape recording on this thread.</summary>
    public static T NoGrad<T>(Func<T> action)
    {
        var saved = _current;
        _current = null;
        try { return action(); }
        finally { _current = saved; }
    }
}

/// <summary>Function transformations built on <see cref="Tape"/>, in the spirit of jax.grad / jax.value_and_grad / jax.vjp.</summary>
public static class Autodiff
{
    /// <summary>The gradient function of a scalar-valued f.</summary>
    public static Func<NTensor, NTensor> Grad(Func<NTensor, NTensor> f) => x => ValueAndGrad(f)(x).Grad;

    /// <summary>Value and gradient of a scalar-valued f.</summary>
    public static Func<NTensor, (NTensor Value, NTensor Grad)> ValueAndGrad(Func<NTensor, NTensor> f) => x =>
    {
        var (v, g) = ValueAndGrads(a => f(a[0]))(new[] { x });
        return (v, g[0]);
    };

    /// <summary>Gradients of a scalar-valued f of several tensors, with respect to all of them.</summary>
    public static Func<NTensor[], NTensor[]> Grads(Func<NTensor[], NTensor> f) => xs => ValueAndGrads(f)(xs).Grads;

    /// <summary>Value and gradients of a scalar-valued f of several tensors.</summary>
    public static Func<NTensor[], (NTensor Value, NTensor[] Grads)> ValueAndGrads(Func<NTensor[], NTensor> f) => xs =>
    {
        using var tape = new Tape();
        var w = Array.ConvertAll(xs, tape.Watch);
        var y = f(w);
        if (y.Size != 1)
            throw new ArgumentException($"Grad needs a scalar-valued function; this one returned shape {Shapes.Format(y.ShapeArray)}. Use Autodiff.Vjp for vector outputs.");
        return (y.Detach(), tape.Gradient(y, w));
    };

    /// <summary>
    /// Evaluates f at x and returns its value with the pullback v -> v^T J. The pullback may be called once.
    /// </summary>
    public static (NTensor Value, Func<NTensor, NTensor[]> Pullback) Vjp(Func<NTensor[], NTensor> f, params NTensor[] xs)
    {
        var tape = new Tape();
        NTensor y;
        NTensor[] w;
        try
        {
            w = Array.ConvertAll(xs, tape.Watch);
            y = f(w);
        }
        finally
        {
            tape.Dispose();
        }
        // The tape is closed for recording but keeps its nodes for one backward pass.
        return (y.Detach(), v => tape.Gradient(y, w, v));
    }
}
