#!/usr/bin/env bash
# The same PKI as `clusterup certs gen`, made the way Kubespray's make-ssl.sh does it: one openssl
# process per key, CSR and signature. Only the benchmark uses this.
#
# usage: make-ssl.sh DIR ALGORITHM VIP PORT NODE... (NODE = name=address)
set -euo pipefail
dir=$1 algorithm=$2 vip=$3 port=$4
shift 4
umask 077
mkdir -p "$dir/etcd"
cd "$dir"

case $algorithm in
  ecdsa-p256) keyopts=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256); leaf_usage=digitalSignature ;;
  rsa-*) keyopts=(-algorithm RSA -pkeyopt rsa_keygen_bits:${algorithm#rsa-}); leaf_usage=digitalSignature,keyEncipherment ;;
  *) echo "unknown algorithm $algorithm" >&2; exit 2 ;;
esac

genkey() { openssl genpkey "${keyopts[@]}" -out "$1" 2>/dev/null; chmod 600 "$1"; }

ca() {  # ca NAME CN
  genkey "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 3650 -sha256 -out "$1.crt" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,digitalSignature,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" -addext "authorityKeyIdentifier=keyid:always"
  chmod 644 "$1.crt"
}

leaf() {  # leaf PATH CA SUBJECT EKU SANS
  local path=$1 ca=$2 subject=$3 eku=$4 sans=$5 ext
  mkdir -p "$(dirname "$path")"
  ext=$(mktemp)
  {
    echo "[ext]"
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,$leaf_usage"
    echo "extendedKeyUsage=$eku"
    echo "subjectKeyIdentifier=hash"
    echo "authorityKeyIdentifier=keyid:always"
    if [ -n "$sans" ]; then echo "subjectAltName=$sans"; fi
  } >"$ext"
  genkey "$path.key"
  openssl req -new -key "$path.key" -subj "$subject" -out "$path.csr"
  openssl x509 -req -in "$path.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days 365 -sha256 \
    -extfile "$ext" -extensions ext -out "$path.crt" 2>/dev/null
  chmod 644 "$path.crt"
  rm -f "$path.csr" "$ext"
}

kubeconfig() {  # kubeconfig NAME USER
  cat >"$1.conf" <<CONF
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: $(base64 -w0 ca.crt)
    server: https://$vip:$port
  name: bench
contexts:
- context:
    cluster: bench
    user: $2
  name: $2@bench
current-context: $2@bench
preferences: {}
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 "$1.crt")
    client-key-data: $(base64 -w0 "$1.key")
CONF
}

ca ca kubernetes
ca etcd/ca etcd-ca
ca front-proxy-ca front-proxy-ca
genkey sa.key
openssl pkey -in sa.key -pubout -out sa.pub

service="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1"
for node in "$@"; do
  name=${node%%=*} address=${node#*=} d=nodes/${node%%=*}
  leaf "$d/etcd/server" etcd/ca "/CN=$name" serverAuth,clientAuth "DNS:$name,IP:$address,DNS:localhost,IP:127.0.0.1,IP:::1"
  leaf "$d/etcd/peer" etcd/ca "/CN=$name" serverAuth,clientAuth "DNS:$name,IP:$address"
  leaf "$d/etcd/healthcheck-client" etcd/ca "/CN=kube-etcd-healthcheck-client" clientAuth ""
  leaf "$d/apiserver" ca "/CN=kube-apiserver" serverAuth "DNS:$name,IP:$address,IP:$vip,$service"
  leaf "$d/apiserver-kubelet-client" ca "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth ""
  leaf "$d/apiserver-etcd-client" etcd/ca "/O=system:masters/CN=kube-apiserver-etcd-client" clientAuth ""
  leaf "$d/front-proxy-client" front-proxy-ca "/CN=front-proxy-client" clientAuth ""
done
leaf admin ca "/O=system:masters/CN=kubernetes-admin" clientAuth ""
leaf controller-manager ca "/CN=system:kube-controller-manager" clientAuth ""
leaf scheduler ca "/CN=system:kube-scheduler" clientAuth ""
kubeconfig admin kubernetes-admin
kubeconfig controller-manager system:kube-controller-manager
kubeconfig scheduler system:kube-scheduler
