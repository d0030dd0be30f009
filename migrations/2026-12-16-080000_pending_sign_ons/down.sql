DROP TABLE pending_sign_ons;
