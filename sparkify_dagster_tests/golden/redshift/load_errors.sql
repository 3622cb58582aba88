SELECT TRIM(file_name), line_number, TRIM(column_name), TRIM(error_message)
FROM sys_load_error_detail
WHERE query_id = (
    SELECT MAX(query_id) FROM sys_load_error_detail WHERE session_id = PG_BACKEND_PID()
)
ORDER BY line_number
LIMIT 10;

SELECT TRIM(filename), line_number, TRIM(colname), TRIM(err_reason)
FROM stl_load_errors
WHERE query = PG_LAST_COPY_ID()
ORDER BY line_number
LIMIT 10;
