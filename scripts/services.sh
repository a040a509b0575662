#!/usr/bin/env bash
# Makes sure Chromium (for the explorer's browser test) is installed and
# PostgreSQL (127.0.0.1:5432, database "test", role "postgres"
# reachable without a password from loopback) and Mosquitto (127.0.0.1:1883)
# are running: installs them from Debian's packages if missing, starts them
# if stopped. Needs root for the install and the pg_hba change.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
	for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
	echo "services: nothing listens on 127.0.0.1:$1 after 30s" >&2
	return 1
}

if [[ $(id -u) -ne 0 ]]; then
	# Without root we can't install or start anything; say what is missing.
	for port in 5432 1883; do
		port_open "$port" || echo "services: nothing listens on 127.0.0.1:$port; run 'sudo make services' (tests that need it will be skipped, or fail with HEXPROOF_REQUIRE_SERVICES=1)" >&2
	done
	exit 0
fi

need_install=()
command -v pg_lsclusters >/dev/null 2>&1 || need_install+=(postgresql)
command -v mosquitto >/dev/null 2>&1 || [[ -x /usr/sbin/mosquitto ]] || need_install+=(mosquitto mosquitto-clients)
# The explorer's browser test drives a headless Chromium.
command -v chromium >/dev/null 2>&1 || need_install+=(chromium)
if ((${#need_install[@]})); then
	echo "services: installing ${need_install[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${need_install[@]}" >/dev/null
fi

# PostgreSQL
if ! port_open 5432; then
	version=$(pg_lsclusters -h | awk 'NR==1{print $1}')
	if [[ -z "$version" ]]; then
		version=$(ls /usr/lib/postgresql | sort -n | tail -1)
		pg_createcluster "$version" main
	fi
	echo "services: starting PostgreSQL $version"
	pg_ctlcluster --skip-systemctl-redirect "$version" main start
	wait_port 5432
fi
if ! psql "postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable" -Atqc 'select 1' >/dev/null 2>&1; then
	# A fresh Debian cluster asks loopback clients for a password; the tests
	# connect as postgres without one.
	version=$(pg_lsclusters -h | awk 'NR==1{print $1}')
	hba=/etc/postgresql/$version/main/pg_hba.conf
	echo "services: allowing passwordless loopback access for role postgres in $hba"
	sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
	pg_ctlcluster --skip-systemctl-redirect "$version" main reload
	sleep 1
fi
if ! psql "postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable" -Atqc "select 1 from pg_database where datname='test'" | grep -q 1; then
	psql "postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable" -qc 'CREATE DATABASE test'
fi
echo "services: PostgreSQL ready on 127.0.0.1:5432"

# Mosquitto
if ! port_open 1883; then
	echo "services: starting Mosquitto"
	mosquitto -d -c /etc/mosquitto/mosquitto.conf
	wait_port 1883
fi
echo "services: Mosquitto ready on 127.0.0.1:1883"
