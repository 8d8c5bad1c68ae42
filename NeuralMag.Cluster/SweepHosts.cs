using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NeuralMag.Sweeps;
using Orleans.Configuration;

namespace NeuralMag.Cluster;

/// <summary>
/// Where a cluster's silos and clients meet: the PostgreSQL database (ADO.NET clustering and the results table), the
/// cluster id, this silo's address and ports. Everything listens on <see cref="Address"/>, the loopback address
/// unless one is configured (NM_SWEEP_ADDRESS or --address).
/// </summary>
public sealed class ClusterSettings
{
    /// <summary>Npgsql connection string of the cluster database (from NM_SWEEP_DB; never from code or the repository).</summary>
    public required string ConnectionString { get; init; }

    /// <summary>Cluster id: silos and clients with the same id form one cluster (several may share a database).</summary>
    public string ClusterId { get; init; } = "neuralmag-sweep";

    /// <summary>The address silos bind to and advertise (default: loopback).</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>Silo-to-silo port.</summary>
    public int SiloPort { get; init; } = 11111;

    /// <summary>Gateway (client) port.</summary>
    public int GatewayPort { get; init; } = 30000;

    /// <summary>
    /// Longest a point call may take before the caller gives up on it and calls again (the grain then finds the
    /// point's row, or a new activation runs it). Default 30 minutes.
    /// </summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Detect a dead silo in seconds rather than a minute (probe timeout 1 s, two missed probes): for tests on one
    /// machine; on a loaded network a slow silo may then be voted dead.
    /// </summary>
    public bool FastFailureDetection { get; init; }
}

/// <summary>Builds the Orleans hosts of a sweep: one in-process silo (the default), cluster silos and cluster clients.</summary>
public static class SweepHosts
{
    private const string ServiceId = "neuralmag-sweep";

    /// <summary>
    /// Starts one silo in this process on loopback (free ports), writing rows to <paramref name="store"/>; its
    /// services' <see cref="IGrainFactory"/> runs sweeps on it (<see cref="ClusterSweep.RunAsync"/>). Dispose the host
    /// to stop it.
    /// </summary>
    public static async Task<IHost> StartLocalSiloAsync(ISweepResultStore store, SweepModelCatalog models, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(models);
        var host = new HostBuilder()
            .UseOrleans(silo => silo
                .UseLocalhostClustering(FreeLoopbackPort(), FreeLoopbackPort(), serviceId: ServiceId, clusterId: "local-" + Guid.NewGuid().ToString("N"))
                .Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromDays(1))
                .ConfigureServices(s => { s.AddSingleton(store); s.AddSingleton(models); }))
            .Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        return host;
    }

    /// <summary>
    /// Starts <paramref name="silos"/> silos in this process that form one cluster on loopback (development clustering:
    /// the first silo is the primary), sharing <paramref name="store"/>; the first host's <see cref="IGrainFactory"/>
    /// runs sweeps on all of them. For measuring the engine's multi-silo overhead on one machine; dispose the hosts to
    /// stop them (the first last).
    /// </summary>
    public static async Task<IReadOnlyList<IHost>> StartLocalClusterAsync(int silos, ISweepResultStore store, SweepModelCatalog models, CancellationToken cancellationToken = default)
    {
        if (silos < 1) throw new ArgumentOutOfRangeException(nameof(silos), silos, "silos must be at least 1.");
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(models);
        var clusterId = "local-" + Guid.NewGuid().ToString("N");
        var primary = new IPEndPoint(IPAddress.Loopback, FreeLoopbackPort());
        var hosts = new List<IHost>();
        for (int i = 0; i < silos; i++)
        {
            int siloPort = i == 0 ? primary.Port : FreeLoopbackPort();
            var host = new HostBuilder()
                .UseOrleans(silo => silo
                    .UseLocalhostClustering(siloPort, FreeLoopbackPort(), primary, ServiceId, clusterId)
                    .Configure<SiloOptions>(o => o.SiloName = $"local-{i}")
                    .Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromDays(1))
                    .ConfigureServices(s => { s.AddSingleton(store); s.AddSingleton(models); }))
                .Build();
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            hosts.Add(host);
        }
        return hosts;
    }

    /// <summary>A silo of a cluster (ADO.NET clustering on PostgreSQL, rows to <see cref="PostgresSweepStore"/>); run it with RunAsync.</summary>
    public static IHost BuildClusterSilo(ClusterSettings settings, SweepModelCatalog models, string siloName)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(models);
        return new HostBuilder()
            .UseOrleans(silo =>
            {
                silo.UseAdoNetClustering(o => { o.Invariant = "Npgsql"; o.ConnectionString = settings.ConnectionString; })
                    .Configure<ClusterOptions>(o => { o.ClusterId = settings.ClusterId; o.ServiceId = ServiceId; })
                    .Configure<SiloOptions>(o => o.SiloName = siloName)
                    .Configure<EndpointOptions>(o =>
                    {
                        o.AdvertisedIPAddress = settings.Address;
                        o.SiloPort = settings.SiloPort;
                        o.GatewayPort = settings.GatewayPort;
                        o.SiloListeningEndpoint = new IPEndPoint(settings.Address, settings.SiloPort);
                        o.GatewayListeningEndpoint = new IPEndPoint(settings.Address, settings.GatewayPort);
                    })
                    .Configure<SiloMessagingOptions>(o => o.ResponseTimeout = settings.ResponseTimeout)
                    .ConfigureServices(s =>
                    {
                        s.AddSingleton<ISweepResultStore>(new PostgresSweepStore(settings.ConnectionString));
                        s.AddSingleton(models);
                    });
                if (settings.FastFailureDetection)
                    silo.Configure<ClusterMembershipOptions>(o =>
                    {
                        o.ProbeTimeout = TimeSpan.FromSeconds(1);
                        o.NumMissedProbesLimit = 2;
                        o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
                        o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
                    });
            })
            .Build();
    }

    /// <summary>A client of a cluster: finds the gateways through the database; start it, then use its <see cref="IClusterClient"/>.</summary>
    public static IHost BuildClusterClient(ClusterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new HostBuilder()
            .UseOrleansClient(client => client
                .UseAdoNetClustering(o => { o.Invariant = "Npgsql"; o.ConnectionString = settings.ConnectionString; })
                .Configure<ClusterOptions>(o => { o.ClusterId = settings.ClusterId; o.ServiceId = ServiceId; })
                .Configure<ClientMessagingOptions>(o => o.ResponseTimeout = settings.ResponseTimeout)
                .Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(settings.FastFailureDetection ? 2 : 30)))
            .Build();
    }

    /// <summary>A TCP port free on the loopback address right now (the OS picks it).</summary>
    public static int FreeLoopbackPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
