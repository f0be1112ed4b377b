# System e-mail (src/mail) sends over SMTP with libcurl (Debian: libcurl4-openssl-dev).
PKGS += libcurl
