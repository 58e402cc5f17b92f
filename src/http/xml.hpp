#pragma once

#include <string>
#include <string_view>

#include <pugixml.hpp>

// Reading the XML that AWS services answer with (S3, STS, error bodies). Elements are matched by
// local name: "s3:Code" and "Code" are both "Code", since S3 emulators use other namespace
// prefixes than AWS. (pugixml is linked privately: include this only from .cpp files.)
namespace rsi::http::xml {

// `node`'s name without its namespace prefix.
std::string_view local_name(const pugi::xml_node& node);

// The first child element of `parent` called `name`; empty when there is none.
pugi::xml_node child(const pugi::xml_node& parent, std::string_view name);

// The text of that child ("" when there is none).
std::string child_text(const pugi::xml_node& parent, std::string_view name);

// The first element called `name` anywhere below `root`; empty when there is none.
pugi::xml_node find_element(const pugi::xml_node& root, std::string_view name);

// The document's root element; empty when there is none.
pugi::xml_node document_element(const pugi::xml_document& document);

} // namespace rsi::http::xml
