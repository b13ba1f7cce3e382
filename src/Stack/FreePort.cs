using System.Net;
using System.Net.Sockets;

namespace Vigie.Stack;

/// <summary>Free TCP ports on the loopback interface, for servers started by the native stack and the tests.</summary>
public static class FreePort
{
    /// <summary>A port nothing listens on right now (the OS's choice for an ephemeral bind).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
