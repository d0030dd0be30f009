DROP INDEX users_iss_sub_key;
