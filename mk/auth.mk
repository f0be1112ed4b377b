# Two-factor authentication (src/auth): TOTP codes with liboath, enrolment QR codes with
# libqrencode (rendered to trusted inline SVG by src/auth/qr.c).
PKGS += liboath libqrencode
