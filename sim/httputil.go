package sim

import (
	"encoding/json"
	"net/http"
)

// WriteJSON writes v as a JSON answer with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// WriteError writes an ErrorBody answer. reason is a short machine-readable
// code (card_declined, out_of_stock, key_conflict).
func WriteError(w http.ResponseWriter, status int, reason, msg string) {
	WriteJSON(w, status, ErrorBody{Error: msg, Reason: reason})
}

// ReadJSON decodes a request body into v, answering 400 and returning false
// when it is not valid JSON.
func ReadJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		WriteError(w, http.StatusBadRequest, "bad_request", "invalid JSON body: "+err.Error())
		return false
	}
	return true
}
