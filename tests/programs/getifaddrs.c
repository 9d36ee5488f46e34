/* getifaddrs(3): the interfaces a program sees, through the NETLINK_ROUTE
   dump the sentry serves (its own loopback, or the host's with --network host). */
#include <ifaddrs.h>
#include <stdio.h>
#include <netdb.h>
#include <sys/socket.h>
int main(void) {
    struct ifaddrs *ifa, *i;
    if (getifaddrs(&ifa)) { perror("getifaddrs"); return 1; }
    for (i = ifa; i; i = i->ifa_next) {
        char host[64] = "-";
        int fam = i->ifa_addr ? i->ifa_addr->sa_family : -1;
        if (fam == AF_INET || fam == AF_INET6)
            getnameinfo(i->ifa_addr, fam == AF_INET ? 16 : 28, host, sizeof host, 0, 0, NI_NUMERICHOST);
        printf("%s %d %s flags=%#x\n", i->ifa_name, fam, host, i->ifa_flags);
    }
    freeifaddrs(ifa);
    return 0;
}
