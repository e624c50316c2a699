# Sourced by scripts that fetch Debian packages: apt_mirror prints the Debian mirror this machine's apt
# uses (deb822 sources first, then sources.list; security archives left out), nothing when there is none.
apt_mirror() {
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | sed -E 's/^deb (\[[^]]*\] )?([^ ]+).*/\2/'
  } | grep -v -- '-security' | head -n1 || true
}
