using System.Net;
using Microsoft.AspNetCore.Http;
using Vigie.Web.Infrastructure.Security;

namespace Vigie.Tests.Unit.Infrastructure;

public sealed class ClientRateLimitsTests
{
    private static string ClientOf(string? address)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = address is null ? null : IPAddress.Parse(address);
        return ClientRateLimits.ClientAddress(context);
    }

    [TestCase("203.0.113.7", "203.0.113.7")]
    [TestCase("::ffff:203.0.113.7", "203.0.113.7")]
    [TestCase(null, "unknown")]
    public void An_IPv4_client_is_its_address(string? address, string expected) =>
        Assert.That(ClientOf(address), Is.EqualTo(expected));

    [Test]
    public void An_IPv6_client_is_its_64_bit_prefix_which_one_host_can_fill_with_addresses()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ClientOf("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), Is.EqualTo("2001:db8:1:2::/64"));
            Assert.That(ClientOf("2001:db8:1:2::1"), Is.EqualTo(ClientOf("2001:db8:1:2:ffff::9")), "one /64, one budget");
            Assert.That(ClientOf("2001:db8:1:3::1"), Is.Not.EqualTo(ClientOf("2001:db8:1:2::1")), "another /64, another budget");
        });
    }
}
