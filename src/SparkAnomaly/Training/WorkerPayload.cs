using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using SparkAnomaly.Model;

namespace SparkAnomaly.Training;

/// <summary>Optimiser state carried between rounds: Adam's step count and first/second moments.</summary>
public sealed record UpdaterState(long Step, float[] FirstMoment, float[] SecondMoment)
{
    public static UpdaterState Empty { get; } = new(0, Array.Empty<float>(), Array.Empty<float>());

    public static UpdaterState Zero(int parameterCount) => new(0, new float[parameterCount], new float[parameterCount]);
}

/// <summary>What a worker needs for one round, besides its shard of windows.</summary>
public sealed record WorkerRequest
{
    public required ulong ConfigHash { get; init; }
    public required int Round { get; init; }
    public required int Worker { get; init; }
    public required int Workers { get; init; }
    public required long Seed { get; init; }

    /// <summary>Minibatches this worker has trained before this round: where its data cursor stands.</summary>
    public required long BatchCursor { get; init; }
    public required int BatchSize { get; init; }

    /// <summary>Minibatches to train this round (averagingFrequency).</summary>
    public required int Steps { get; init; }
    public required bool DropPartialBatch { get; init; }
    public required double KlWeight { get; init; }
    public required OptimizerKind Optimizer { get; init; }
    public required double LearningRate { get; init; }
    public required double GradientClip { get; init; }
    public required ModelConfig Model { get; init; }
    public required int Threads { get; init; }

    /// <summary>Minibatches assembled ahead on a background thread (does not change results).</summary>
    public int Prefetch { get; init; }
    public required string Device { get; init; }

    /// <summary>Names the shard the engine resolves for this worker (the data travels separately).</summary>
    public required string ShardKey { get; init; }
    public required float[] Parameters { get; init; }
    public required UpdaterState Updater { get; init; }
}

/// <summary>What a worker returns: its parameters and updater state after the round, and statistics.</summary>
public sealed record WorkerResult
{
    public required ulong ConfigHash { get; init; }
    public required int Round { get; init; }
    public required int Worker { get; init; }
    public required long WindowsSeen { get; init; }
    public required int Batches { get; init; }
    public required long BatchCursor { get; init; }

    /// <summary>Window-weighted mean of the minibatch losses this round.</summary>
    public required double MeanLoss { get; init; }

    /// <summary>Loss of the last minibatch (what DL4J reports as the score).</summary>
    public required double LastLoss { get; init; }
    public required double MeanReconstruction { get; init; }
    public required double MeanKl { get; init; }
    public required double DecodeMs { get; init; }
    public required double FitMs { get; init; }
    public required double EncodeMs { get; init; }
    public required float[] Parameters { get; init; }
    public required UpdaterState Updater { get; init; }
}

/// <summary>
/// The versioned binary exchange between driver and workers: the worker is a function from bytes to
/// bytes, the same in the local cluster and in a Spark task. Layout (all little-endian):
/// <code>
/// request: "SAWQ" u16 version u64 configHash i32 round i32 worker i32 workers i64 seed i64 batchCursor
///          i32 batchSize i32 steps u8 dropPartial f64 klWeight u8 optimizer f64 lr f64 gradClip
///          i32 channels i32 windowLength i32 hidden i32 latent i32 threads i32 prefetch str device str shardKey
///          floats params  i64 adamStep floats m floats v  u64 checksum
/// result:  "SAWR" u16 version u64 configHash i32 round i32 worker i64 windowsSeen i32 batches i64 batchCursor
///          f64 meanLoss f64 lastLoss f64 meanRecon f64 meanKl f64 decodeMs f64 fitMs f64 encodeMs
///          floats params  i64 adamStep floats m floats v  u64 checksum
/// str = i32 byte length + UTF-8; floats = i32 count + count float32; checksum = Hashing.Checksum of all bytes before it.
/// </code>
/// </summary>
public static class WorkerPayload
{
    public const ushort FormatVersion = 1;

    /// <summary>Largest parameter vector accepted from a payload (sanity bound before allocating).</summary>
    public const int MaxFloats = 256 * 1024 * 1024;

    private static ReadOnlySpan<byte> RequestMagic => "SAWQ"u8;

    private static ReadOnlySpan<byte> ResultMagic => "SAWR"u8;

    public static byte[] Encode(WorkerRequest r)
    {
        var w = new PayloadWriter(64 + 12 * (r.Parameters.Length + r.Updater.FirstMoment.Length));
        w.Bytes(RequestMagic);
        w.U16(FormatVersion);
        w.U64(r.ConfigHash);
        w.I32(r.Round);
        w.I32(r.Worker);
        w.I32(r.Workers);
        w.I64(r.Seed);
        w.I64(r.BatchCursor);
        w.I32(r.BatchSize);
        w.I32(r.Steps);
        w.U8(r.DropPartialBatch ? (byte)1 : (byte)0);
        w.F64(r.KlWeight);
        w.U8((byte)r.Optimizer);
        w.F64(r.LearningRate);
        w.F64(r.GradientClip);
        w.I32(r.Model.Channels);
        w.I32(r.Model.WindowLength);
        w.I32(r.Model.HiddenSize);
        w.I32(r.Model.LatentSize);
        w.I32(r.Threads);
        w.I32(r.Prefetch);
        w.Str(r.Device);
        w.Str(r.ShardKey);
        w.Floats(r.Parameters);
        WriteUpdater(ref w, r.Updater);
        return w.Finish();
    }

    public static WorkerRequest DecodeRequest(ReadOnlySpan<byte> bytes)
    {
        var r = new PayloadReader(bytes, "worker request");
        r.Expect(RequestMagic);
        return new WorkerRequest
        {
            ConfigHash = r.U64(),
            Round = r.I32(),
            Worker = r.I32(),
            Workers = r.I32(),
            Seed = r.I64(),
            BatchCursor = r.I64(),
            BatchSize = r.I32(),
            Steps = r.I32(),
            DropPartialBatch = r.U8() != 0,
            KlWeight = r.F64(),
            Optimizer = (OptimizerKind)r.U8(),
            LearningRate = r.F64(),
            GradientClip = r.F64(),
            Model = new ModelConfig(r.I32(), r.I32(), r.I32(), r.I32()),
            Threads = r.I32(),
            Prefetch = r.I32(),
            Device = r.Str(),
            ShardKey = r.Str(),
            Parameters = r.Floats(),
            Updater = ReadUpdater(ref r),
        };
    }

    public static byte[] Encode(WorkerResult r)
    {
        var w = new PayloadWriter(128 + 12 * (r.Parameters.Length + r.Updater.FirstMoment.Length));
        w.Bytes(ResultMagic);
        w.U16(FormatVersion);
        w.U64(r.ConfigHash);
        w.I32(r.Round);
        w.I32(r.Worker);
        w.I64(r.WindowsSeen);
        w.I32(r.Batches);
        w.I64(r.BatchCursor);
        w.F64(r.MeanLoss);
        w.F64(r.LastLoss);
        w.F64(r.MeanReconstruction);
        w.F64(r.MeanKl);
        w.F64(r.DecodeMs);
        w.F64(r.FitMs);
        w.F64(r.EncodeMs);
        w.Floats(r.Parameters);
        WriteUpdater(ref w, r.Updater);
        return w.Finish();
    }

    public static WorkerResult DecodeResult(ReadOnlySpan<byte> bytes)
    {
        var r = new PayloadReader(bytes, "worker result");
        r.Expect(ResultMagic);
        return new WorkerResult
        {
            ConfigHash = r.U64(),
            Round = r.I32(),
            Worker = r.I32(),
            WindowsSeen = r.I64(),
            Batches = r.I32(),
            BatchCursor = r.I64(),
            MeanLoss = r.F64(),
            LastLoss = r.F64(),
            MeanReconstruction = r.F64(),
            MeanKl = r.F64(),
            DecodeMs = r.F64(),
            FitMs = r.F64(),
            EncodeMs = r.F64(),
            Parameters = r.Floats(),
            Updater = ReadUpdater(ref r),
        };
    }

    private static void WriteUpdater(ref PayloadWriter w, UpdaterState u)
    {
        w.I64(u.Step);
        w.Floats(u.FirstMoment);
        w.Floats(u.SecondMoment);
    }

    private static UpdaterState ReadUpdater(ref PayloadReader r) => new(r.I64(), r.Floats(), r.Floats());

    /// <summary>Sequential little-endian writer into one growing array; the checksum is appended by <see cref="Finish"/>.</summary>
    internal ref struct PayloadWriter
    {
        private byte[] _buffer;
        private int _length;

        public PayloadWriter(int capacity)
        {
            _buffer = new byte[Math.Max(64, capacity)];
            _length = 0;
        }

        private Span<byte> Take(int n)
        {
            if (_length + n > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + n));
            }
            var s = _buffer.AsSpan(_length, n);
            _length += n;
            return s;
        }

        public void Bytes(ReadOnlySpan<byte> b) => b.CopyTo(Take(b.Length));

        public void U8(byte v) => Take(1)[0] = v;

        public void U16(ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(Take(2), v);

        public void I32(int v) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), v);

        public void I64(long v) => BinaryPrimitives.WriteInt64LittleEndian(Take(8), v);

        public void U64(ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(Take(8), v);

        public void F64(double v) => BinaryPrimitives.WriteDoubleLittleEndian(Take(8), v);

        public void Str(string s)
        {
            int n = Encoding.UTF8.GetByteCount(s);
            I32(n);
            Encoding.UTF8.GetBytes(s, Take(n));
        }

        public void Floats(ReadOnlySpan<float> values)
        {
            I32(values.Length);
            var target = Take(values.Length * sizeof(float));
            if (BitConverter.IsLittleEndian)
            {
                MemoryMarshal.AsBytes(values).CopyTo(target);
            }
            else
            {
                for (int i = 0; i < values.Length; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(target[(i * 4)..], values[i]);
                }
            }
        }

        public byte[] Finish()
        {
            ulong sum = Hashing.Checksum(_buffer.AsSpan(0, _length));
            U64(sum);
            return _buffer.AsSpan(0, _length).ToArray();
        }
    }

    /// <summary>Bounds-checked reader; every failure is a <see cref="SparkAnomalyException"/> naming the payload and offset.</summary>
    internal ref struct PayloadReader
    {
        private readonly ReadOnlySpan<byte> _data;
        private readonly string _what;
        private int _pos;

        public PayloadReader(ReadOnlySpan<byte> data, string what)
        {
            _what = what;
            if (data.Length < 4 + 2 + 8)
            {
                throw new SparkAnomalyException($"{what} is {data.Length} bytes, too short to be a SparkAnomaly payload.");
            }
            ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(data[^8..]);
            if (stored != Hashing.Checksum(data[..^8]))
            {
                throw new SparkAnomalyException($"{what} ({data.Length} bytes) fails its checksum: it was corrupted or truncated in transit.");
            }
            _data = data[..^8];
            _pos = 0;
        }

        public void Expect(ReadOnlySpan<byte> magic) => Expect(magic, FormatVersion);

        public void Expect(ReadOnlySpan<byte> magic, ushort expectedVersion)
        {
            if (!Take(magic.Length).SequenceEqual(magic))
            {
                throw new SparkAnomalyException($"{_what} does not start with '{Encoding.ASCII.GetString(magic)}': it is not this kind of payload.");
            }
            ushort version = U16();
            if (version != expectedVersion)
            {
                throw new SparkAnomalyException($"{_what} has format version {version}; this build reads version {expectedVersion}. Run the same SparkAnomaly version on the driver and the workers.");
            }
        }

        /// <summary>Checks the magic and a version from <paramref name="oldest"/> to <paramref name="newest"/>, and returns the version.</summary>
        public ushort ExpectVersion(ReadOnlySpan<byte> magic, ushort oldest, ushort newest)
        {
            if (!Take(magic.Length).SequenceEqual(magic))
            {
                throw new SparkAnomalyException($"{_what} does not start with '{Encoding.ASCII.GetString(magic)}': it is not this kind of payload.");
            }
            ushort version = U16();
            if (version < oldest || version > newest)
            {
                throw new SparkAnomalyException($"{_what} has format version {version}; this build reads versions {oldest} to {newest}. Use the SparkAnomaly version that wrote it, or start afresh.");
            }
            return version;
        }

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || _pos + n > _data.Length)
            {
                throw new SparkAnomalyException($"{_what} is truncated: needs {n} bytes at offset {_pos}, has {_data.Length - _pos}.");
            }
            var s = _data.Slice(_pos, n);
            _pos += n;
            return s;
        }

        public byte U8() => Take(1)[0];

        /// <summary>Reads a 4-byte magic (no version) and the i32 that follows.</summary>
        public int I32Magic(ReadOnlySpan<byte> magic)
        {
            if (!Take(magic.Length).SequenceEqual(magic))
            {
                throw new SparkAnomalyException($"{_what} does not start with '{Encoding.ASCII.GetString(magic)}'.");
            }
            return I32();
        }

        public byte[] Blob() => Take(I32()).ToArray();

        public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

        public int I32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long I64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        public double F64() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));

        public string Str()
        {
            int n = I32();
            if (n > 1 << 20)
            {
                throw new SparkAnomalyException($"{_what} declares a {n}-byte string at offset {_pos}; the limit is 1 MiB.");
            }
            return Encoding.UTF8.GetString(Take(n));
        }

        public float[] Floats()
        {
            int n = I32();
            if (n < 0 || n > MaxFloats || (long)n * 4 > _data.Length - _pos)
            {
                throw new SparkAnomalyException($"{_what} declares {n} floats at offset {_pos} but holds {(_data.Length - _pos) / 4}: refusing to allocate.");
            }
            var bytes = Take(n * sizeof(float));
            var result = new float[n];
            if (BitConverter.IsLittleEndian)
            {
                bytes.CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
            }
            else
            {
                for (int i = 0; i < n; i++)
                {
                    result[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                }
            }
            return result;
        }
    }
}

/// <summary>All workers' requests of one round packed into one byte array, broadcast once on Spark.</summary>
public static class RoundBundle
{
    public static byte[] Pack(IReadOnlyList<WorkerTask> tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        var w = new WorkerPayload.PayloadWriter(16 + tasks.Sum(t => t.Request.Length + 8));
        w.Bytes("SAWB"u8);
        w.I32(tasks.Count);
        foreach (var t in tasks)
        {
            w.I32(t.Worker);
            w.I32(t.Request.Length);
            w.Bytes(t.Request);
        }
        return w.Finish();
    }

    /// <summary>The request bytes of <paramref name="worker"/> inside a bundle.</summary>
    public static byte[] Select(byte[] bundle, int worker)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var r = new WorkerPayload.PayloadReader(bundle, "round bundle");
        int count = r.I32Magic("SAWB"u8);
        for (int i = 0; i < count; i++)
        {
            int w = r.I32();
            byte[] request = r.Blob();
            if (w == worker)
            {
                return request;
            }
        }
        throw new SparkAnomalyException($"round bundle has no request for worker {worker}: the shard key does not match any task of this round.");
    }
}

/// <summary>One worker's task in a round: its index and request bytes.</summary>
public sealed record WorkerTask(int Worker, byte[] Request);

/// <summary>What came back from one task: result bytes, or the error text when it failed.</summary>
public sealed record TaskOutcome(int Worker, byte[]? Result, string? Error);
